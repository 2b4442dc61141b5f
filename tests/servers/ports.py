"""Free loopback ports for the servers tests start."""
from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on right now (another process may still take it before it is bound:
    servers that can retry, like tests/servers/postgres.py, do)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
