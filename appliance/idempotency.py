"""Idempotency-Keys are per client (issue 14): the stored form of a client's key."""
from __future__ import annotations

import hashlib


def client_scoped_key(client: str, key: str) -> str:
    """The stored form of a client's key: "<len>:<client>:<key>" (the length keeps it unambiguous),
    with the key as its sha256 when that would not fit the 255-character column. `client` is who the
    audit log names (a username or "token:<name>"); schema v7 rewrote older keys so with their orders'
    creators. Keys of the pages' own forms ("web:…") are made by the server and are not scoped."""
    stored = f"{len(client)}:{client}:{key}"
    if len(stored) > 255:
        stored = f"{len(client)}:{client}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return stored
