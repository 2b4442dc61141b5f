"""The quorum's client keeps one HTTP connection per etcd member (failover/quorum.py, http.client, no
requests or etcd3gw: the lease holder runs all day). A member that closed the kept-alive connection
while it was idle (a restart, an idle timeout) costs no failed request, which would be a failed
renewal: the next request goes on a new connection."""
from __future__ import annotations

import json
import socket
import threading
import time

from failover.quorum import Member


def _member_that_closes_each_connection_after_one_answer(server: socket.socket, answered: list) -> None:
    """Answers one request per connection with HTTP/1.1 keep-alive, then closes it anyway."""
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            head, _, body = request.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            while len(body) < length:
                body += conn.recv(4096)
            answer = json.dumps({"header": {}, "echo": json.loads(body)}).encode()
            answered.append(head.split(b"\r\n")[0].decode())  # before the answer: the test reads it right after
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(answer) + answer)
            time.sleep(0.05)


def test_a_request_after_the_member_closed_the_idle_connection_succeeds():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    answered: list[str] = []
    threading.Thread(target=_member_that_closes_each_connection_after_one_answer, args=(server, answered),
                     daemon=True).start()
    member = Member(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=2)
    try:
        assert member.post("/kv/range", {"key": "a"})["echo"] == {"key": "a"}
        time.sleep(0.2)  # the member has closed the connection meanwhile
        assert member.post("/lease/keepalive", {"ID": 7})["echo"] == {"ID": 7}
        assert answered == ["POST /v3/kv/range HTTP/1.1", "POST /v3/lease/keepalive HTTP/1.1"]
    finally:
        member.close()
        server.close()
