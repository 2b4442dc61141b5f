"""The pair's etcd cluster, reached through its members' JSON gateways (etcd's /v3 HTTP API).

One request goes to one member; when it fails or times out the next request goes to the next
member, so a member that is down or stopped costs one timeout, not every request. etcd forwards
what needs the quorum to the leader; a member cut off from the quorum answers with an error or not
at all, which is a failed request here.

Each member is one kept-alive HTTP connection (http.client): the lease holder runs all day on both
boxes and sends a few small POSTs a second, for which requests and etcd3gw cost ~10 MB resident
(issue 12: the pair's extra memory; docs/failover.md "Memory"). The requests and answers are the
ones etcd3gw sent and read before.
"""
from __future__ import annotations

import base64
import http.client
import json
import logging
import select
from typing import Any, Callable
from urllib.parse import urlparse

log = logging.getLogger(__name__)


class MemberError(Exception):
    """A member answered with an HTTP error (etcd's gateway: 4xx/5xx with a JSON error body)."""


ERRORS = (MemberError, http.client.HTTPException, OSError, ValueError, KeyError)


class Member:
    """One etcd member's gateway over one HTTP connection, made again after any failure."""

    def __init__(self, url: str, timeout: float):
        parsed = urlparse(url)
        self.url, self.scheme, self.host, self.port = url, parsed.scheme, parsed.hostname, parsed.port
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def post(self, path: str, body: dict, timeout: float | None = None) -> dict:
        """POST /v3<path> with a JSON body; the JSON answer (MemberError when it is not 200 OK)."""
        connection = self._connected(self.timeout if timeout is None else timeout)
        try:
            connection.request("POST", "/v3" + path, body=json.dumps(body).encode(),
                               headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            text = answer.read()
        except BaseException:
            self.close()  # a timed-out or broken connection may hold half an answer: never reuse it
            raise
        if answer.status != 200:
            raise MemberError(f"{answer.status} {answer.reason}: {text[:200].decode(errors='replace')}")
        return json.loads(text)

    def _connected(self, timeout: float) -> http.client.HTTPConnection:
        connection = self._connection
        if connection is not None and connection.sock is not None and _closed_by_peer(connection.sock):
            self.close()  # an idle connection the member closed: the next request would fail on it
            connection = None
        if connection is None:
            if self.scheme == "https":
                connection = http.client.HTTPSConnection(self.host, self.port, timeout=timeout)
            else:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            self._connection = connection
        connection.timeout = timeout  # each connect, send and read waits at most this long
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _closed_by_peer(sock) -> bool:
    """An idle kept-alive socket that is readable has been closed (or broken) by the other end."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class QuorumUnavailable(Exception):
    """No member answered (or none with the quorum behind it)."""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode()


class Quorum:
    def __init__(self, endpoints: list[str], timeout: float):
        self.endpoints = list(endpoints)
        self.clients = [Member(url, timeout) for url in self.endpoints]
        self.current = 0

    # -- one request to one member, the next member next time when it fails ----------------------

    def once(self, fn: Callable[[Member], Any]) -> Any:
        client = self.clients[self.current]
        try:
            return fn(client)
        except ERRORS as e:
            failed = self.endpoints[self.current]
            self.current = (self.current + 1) % len(self.clients)
            raise QuorumUnavailable(f"etcd member {failed} did not answer: {_short(e)}") from None

    def any(self, fn: Callable[[Member], Any]) -> Any:
        """Tries each member once, starting with the current one."""
        last: Exception | None = None
        for _ in self.clients:
            try:
                return self.once(fn)
            except QuorumUnavailable as e:
                last = e
        raise QuorumUnavailable(f"no etcd member answered ({last})")

    # -- the calls the pair needs ------------------------------------------------------------------

    def post(self, client: Member, path: str, body: dict) -> dict:
        return client.post(path, body)

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
        answer = self.any(lambda c: self.post(c, "/kv/txn", txn))
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
                body = client.post("/maintenance/status", {}, timeout=timeout)
                found[url] = "ok" if int(body.get("leader", 0)) else "no leader"
            except ERRORS as e:
                found[url] = f"unreachable ({_short(e)})"
        return found


def _short(error: Exception) -> str:
    text = " ".join(str(error).split())
    if isinstance(error, TimeoutError) or "timed out" in text.lower():
        return "timed out"
    if isinstance(error, ConnectionRefusedError) or "connection refused" in text.lower():
        return "connection refused"
    return text[:160] or type(error).__name__
