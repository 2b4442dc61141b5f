"""The pair's etcd cluster, reached through its members' JSON gateways (etcd3gw).

One request goes to one member; when it fails or times out the next request goes to the next
member, so a member that is down or stopped costs one timeout, not every request. etcd forwards
what needs the quorum to the leader; a member cut off from the quorum answers with an error or not
at all, which is a failed request here.
"""
from __future__ import annotations

import base64
import json
import logging
from typing import Any, Callable
from urllib.parse import urlparse

import requests
from etcd3gw.client import Etcd3Client
from etcd3gw import exceptions as etcd_exceptions

log = logging.getLogger(__name__)

ERRORS = (etcd_exceptions.Etcd3Exception, requests.RequestException, OSError, ValueError, KeyError)


class QuorumUnavailable(Exception):
    """No member answered (or none with the quorum behind it)."""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode()


class Quorum:
    def __init__(self, endpoints: list[str], timeout: float):
        self.endpoints = list(endpoints)
        self.clients = []
        for url in self.endpoints:
            parsed = urlparse(url)
            self.clients.append(Etcd3Client(host=parsed.hostname, port=parsed.port, protocol=parsed.scheme,
                                            timeout=timeout, api_path="/v3/"))
        self.current = 0

    # -- one request to one member, the next member next time when it fails ----------------------

    def once(self, fn: Callable[[Etcd3Client], Any]) -> Any:
        client = self.clients[self.current]
        try:
            return fn(client)
        except ERRORS as e:
            failed = self.endpoints[self.current]
            self.current = (self.current + 1) % len(self.clients)
            raise QuorumUnavailable(f"etcd member {failed} did not answer: {_short(e)}") from None

    def any(self, fn: Callable[[Etcd3Client], Any]) -> Any:
        """Tries each member once, starting with the current one."""
        last: Exception | None = None
        for _ in self.clients:
            try:
                return self.once(fn)
            except QuorumUnavailable as e:
                last = e
        raise QuorumUnavailable(f"no etcd member answered ({last})")

    # -- the calls the pair needs ------------------------------------------------------------------

    def post(self, client: Etcd3Client, path: str, body: dict) -> dict:
        return client.post(client.get_url(path), json=body)

    def get(self, key: str) -> tuple[str | None, int, int]:
        """(value or None, mod_revision, lease id) of a key, read through the quorum (linearizable)."""
        def read(client):
            found = self.post(client, "/kv/range", {"key": _b64(key)}).get("kvs") or []
            if not found:
                return None, 0, 0
            kv = found[0]
            return _unb64(kv.get("value", "")), int(kv.get("mod_revision", 0)), int(kv.get("lease", 0))
        return self.any(read)

    def grant(self, ttl: int) -> int:
        return int(self.once(lambda c: self.post(c, "/lease/grant", {"TTL": ttl, "ID": 0}))["ID"])

    def keepalive(self, lease_id: int, clock: Callable[[], float]) -> tuple[int, float]:
        """(the lease's TTL after this renewal, when the request that renewed it was sent); the TTL is
        <= 0 when the lease had already expired. Each member once at most, the current one first: a
        dead member costs a refused connection, a stopped or cut-off one a timeout."""
        sent = 0.0

        def renew(client):
            nonlocal sent
            sent = clock()
            return self.post(client, "/lease/keepalive", {"ID": lease_id})
        answer = self.any(renew)
        return int(answer.get("result", {}).get("TTL", -1)), sent

    def revoke(self, lease_id: int) -> None:
        self.any(lambda c: self.post(c, "/kv/lease/revoke", {"ID": lease_id}))

    def time_to_live(self, lease_id: int) -> tuple[int, int]:
        """(seconds left, granted TTL) of a lease; (-1, 0) once it expired."""
        answer = self.any(lambda c: self.post(c, "/kv/lease/timetolive", {"ID": lease_id}))
        return int(answer.get("TTL", -1)), int(answer.get("grantedTTL", 0))

    def take(self, leader_key: str, epoch_key: str, epoch_revision: int, value: dict, new_epoch: int,
             lease_id: int) -> bool:
        """Atomically: only if nobody holds the leader key and the epoch did not move since it was read,
        put the leader key under the lease and the new epoch."""
        txn = {
            "compare": [
                {"key": _b64(leader_key), "result": "EQUAL", "target": "CREATE", "create_revision": 0},
                {"key": _b64(epoch_key), "result": "EQUAL", "target": "MOD", "mod_revision": epoch_revision},
            ],
            "success": [
                {"request_put": {"key": _b64(leader_key), "value": _b64(json.dumps(value)), "lease": lease_id}},
                {"request_put": {"key": _b64(epoch_key), "value": _b64(str(new_epoch))}},
            ],
            "failure": [],
        }
        answer = self.any(lambda c: c.post(c.get_url("/kv/txn"), data=json.dumps(txn)))
        return bool(answer.get("succeeded"))

    def put(self, key: str, value: str, lease_id: int = 0) -> None:
        body = {"key": _b64(key), "value": _b64(value)}
        if lease_id:
            body["lease"] = lease_id
        self.any(lambda c: self.post(c, "/kv/put", body))

    def delete(self, key: str) -> None:
        self.any(lambda c: self.post(c, "/kv/deleterange", {"key": _b64(key)}))

    def member_status(self, timeout: float) -> dict[str, str]:
        """Each member's answer to a status request: 'ok' (with a leader in sight) or why not."""
        found = {}
        for url, client in zip(self.endpoints, self.clients):
            try:
                answer = client.session.post(client.get_url("/maintenance/status"), json={}, timeout=timeout)
                answer.raise_for_status()
                body = answer.json()
                found[url] = "ok" if int(body.get("leader", 0)) else "no leader"
            except (requests.RequestException, ValueError) as e:
                found[url] = f"unreachable ({_short(e)})"
        return found


def _short(error: Exception) -> str:
    text = " ".join(str(error).split())
    if isinstance(error, requests.Timeout) or "timed out" in text.lower():
        return "timed out"
    if isinstance(error, requests.ConnectionError) or "connection refused" in text.lower():
        return "connection refused"
    return text[:160] or type(error).__name__
