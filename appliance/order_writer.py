"""The box's order writer: one process writes the orders of every web worker, in groups.

Why: measured on 2 cores, a box whose web workers each write their own orders tops out near
450 orders/s with its CPU half idle. Every order holds the box's single write lock for its whole
transaction, and inside it pays a COMMIT (fsync and the WAL pages it touched), a page cache emptied
by the other workers' writes (each connection re-reads what another one changed: +40 % CPU per
order) and waits for its worker's GIL. Here one process, with one warm connection, runs every order
queued meanwhile in one transaction, each in its own savepoint (an order that fails is rolled back
alone), and commits once. A web worker's request is answered only after the COMMIT that holds its
order, so an acknowledged order is exactly as durable as before.

`appliance serve` starts the writer beside the gunicorn workers (`start`); the workers send it
their orders over a Unix socket in `run/` (multiprocessing.connection, authenticated with a key
derived from the server's secret key): `use` hands `orders.place_order` the client's `place`. When
the writer is not running, or not reachable, a worker writes the order itself: same transaction
code (`orders.written_order`, which the writer runs too), same locks, just slower.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import multiprocessing
import os
import signal
import socket
import struct
import sys
import threading
import time
from multiprocessing.connection import Connection, Listener, answer_challenge, deliver_challenge
from pathlib import Path
from typing import Any, Callable

import peewee

from . import errors, orders, runtime
from .config import Settings
from .db import database, write_transaction
from .processes import PidFile, PipeLinkedChild, wait_for_end_of_file

log = logging.getLogger(__name__)

SOCKET_NAME = "order-writer.sock"


def socket_path(settings: Settings) -> Path:
    return settings.home / "run" / SOCKET_NAME


def pid_path(settings: Settings) -> Path:
    return settings.home / "run" / "order-writer.pid"


def running(settings: Settings) -> int | None:
    """The pid of this box's live order writer, or None (the file holds the writer's start time too,
    so a reused pid does not count)."""
    return PidFile(pid_path(settings)).running()


def auth_key(settings: Settings) -> bytes:
    """Only a process that can read the server's secret key may talk to the writer."""
    secret = settings.path(settings.server.secret_key_file).read_bytes()
    return hmac.new(secret, b"appliance order writer", hashlib.sha256).digest()


# -- the writer's side ----------------------------------------------------------------------------

class Job:
    """A function to run in a group's transaction, and its outcome once the group is written."""
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn: Callable[[], Any]):
        self.fn, self.done, self.result, self.error = fn, threading.Event(), None, None


class GroupCommit:
    """Runs the jobs handed to it in groups on one thread (and one database connection).

    Everything queued while a group is being written forms the next group: one transaction, each
    job in a savepoint of its own, one COMMIT. `run` returns (or raises) a job's own outcome, only
    after the COMMIT; if BEGIN or COMMIT fails, every job of the group gets that error and nothing
    of the group is written.
    """

    MAX_GROUP = 64

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[Job] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._write_forever, name="group-commit", daemon=True)
        self._thread.start()

    def run(self, fn: Callable[[], Any]) -> Any:
        job = Job(fn)
        with self._cond:
            self._queue.append(job)
            self._cond.notify()
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def stop(self) -> None:
        """Writes what is queued, then closes its connection and ends its thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()

    def _write_forever(self) -> None:
        database.connect(reuse_if_open=True)
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    database.close()
                    return
                group, self._queue = self._queue[:self.MAX_GROUP], self._queue[self.MAX_GROUP:]
            try:
                write_group(group)
            finally:
                for job in group:
                    job.done.set()


def write_group(group: list[Job]) -> None:
    """One transaction for the group, a savepoint per job."""
    try:
        with write_transaction():
            for job in group:
                try:
                    with database.atomic():
                        job.result = job.fn()
                except Exception as error:  # noqa: BLE001 - handed to the job's caller
                    job.error = error
    except Exception as error:  # noqa: BLE001 - BEGIN or COMMIT failed: nothing of the group was written
        for job in group:
            job.result, job.error = None, job.error or error


def _answer(group: GroupCommit, settings: Settings, request: dict) -> tuple:
    try:
        data, replayed = group.run(lambda: orders.written_order(settings, request))
        return ("ok", data, replayed)
    except errors.AppError as e:
        return ("error", type(e).__name__, e.message, e.details)
    except peewee.OperationalError as e:  # locked too long, disk full, I/O error: nothing was written
        log.error("order writer: the database failed: %s", e)
        return ("error", "ServiceUnavailable", "The database is not available right now; nothing was saved.", [])
    except Exception as e:  # noqa: BLE001 - the worker raises it again (500)
        log.exception("order writer: an order failed")
        return ("failed", f"{type(e).__name__}: {e}")


def raise_answer(answer: tuple) -> tuple[dict, bool]:
    """(order data, replayed) from the writer's answer, or the error it reported, raised here."""
    if answer[0] == "ok":
        return answer[1], answer[2]
    if answer[0] == "error":
        _, name, message, details = answer
        cls = getattr(errors, name, None)
        if not (isinstance(cls, type) and issubclass(cls, errors.AppError)):
            cls = errors.AppError
        error = cls.__new__(cls)
        errors.AppError.__init__(error, message, details)  # subclasses may take other arguments
        raise error
    raise RuntimeError(f"The order writer failed: {answer[1]}")


def _serve_connection(conn: Connection, group: GroupCommit, settings: Settings) -> None:
    with conn:
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                return
            conn.send(_answer(group, settings, request))


def serve(settings: Settings, alive_fd: int) -> None:
    """The writer process: listens until its parent (the gunicorn master) is gone.

    It ignores SIGTERM and SIGINT: at shutdown the web workers' in-flight requests finish first,
    and may still need it; it stops once `alive_fd`, the read end of a pipe the master holds the
    other end of, reports end-of-file: the master closed it (Supervisor.stop) or died.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runtime.connect(settings)
    group = GroupCommit()
    path = socket_path(settings)
    path.unlink(missing_ok=True)
    listener = Listener(str(path), family="AF_UNIX", authkey=auth_key(settings))
    os.chmod(path, 0o600)
    PidFile(pid_path(settings)).record()  # only now: the file says "it listens"

    def accept_forever() -> None:
        while True:
            try:
                conn = listener.accept()
            except (OSError, multiprocessing.AuthenticationError, EOFError):
                continue  # a client that failed to authenticate, or went away while doing so
            threading.Thread(target=_serve_connection, args=(conn, group, settings), daemon=True).start()

    threading.Thread(target=accept_forever, name="order-writer-accept", daemon=True).start()
    wait_for_end_of_file(alive_fd)
    path.unlink(missing_ok=True)
    PidFile(pid_path(settings)).remove()
    os._exit(0)  # daemon threads may be mid-group for requests nobody waits for any more


class Supervisor(PipeLinkedChild):
    """Runs the writer process beside the gunicorn master and starts it again if it dies; the writer
    ignores SIGTERM and leaves at the pipe's end-of-file, once the workers (holding copies of the
    write end) are gone too: their in-flight orders may still need it."""

    def __init__(self, settings: Settings):
        super().__init__("order writer", "appliance.order_writer", settings.home)
        self.settings = settings

    def start(self) -> "Supervisor":
        """Returns once the writer listens (or died trying, or 30 s passed): the workers start next."""
        path = socket_path(self.settings)
        path.unlink(missing_ok=True)
        super().start()
        deadline = time.monotonic() + 30
        while not path.exists() and self.child.pid is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        return self


# -- the web workers' side ------------------------------------------------------------------------

class WriterUnavailable(Exception):
    """The writer could not be reached before anything was sent: the order can be written locally."""


class OrderWriterClient:
    """One connection per thread of a web worker, opened on first use and kept."""

    def __init__(self, path: Path, key: bytes, answer_timeout: float):
        self.path, self.key, self.answer_timeout = str(path), key, answer_timeout
        self._local = threading.local()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._local = threading.local()

    def _connection(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = self._local.conn = self._connect()
            except (OSError, EOFError, multiprocessing.AuthenticationError) as e:
                raise WriterUnavailable(str(e)) from None
        return conn

    def _connect(self) -> Connection:
        """multiprocessing.connection.Client's handshake, bounded by answer_timeout: a frozen writer
        still accepts connections (the kernel queues them) but never answers the challenge."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            _set_os_timeouts(sock, self.answer_timeout)  # Connection reads the raw fd: SO_RCVTIMEO, not settimeout
            sock.connect(self.path)
            conn = Connection(sock.detach())
        finally:
            sock.close()
        try:
            answer_challenge(conn, self.key)
            deliver_challenge(conn, self.key)
            with socket.socket(fileno=os.dup(conn.fileno())) as same:
                _set_os_timeouts(same, 0)  # from now on poll() bounds the wait for an answer
        except BaseException:
            conn.close()
            raise
        return conn

    def place(self, request: dict) -> tuple[dict, bool] | None:
        """(order data, replayed) as the writer answered, or its error raised here; None when the
        writer could not be reached before anything was sent (then the worker writes the order)."""
        try:
            answer = self.send(request)
        except WriterUnavailable:
            return None  # not running (starting again, or turned off)
        return raise_answer(answer)

    def send(self, request: dict) -> tuple:
        conn = self._connection()
        try:
            conn.send(request)
        except OSError as e:  # it went away since the last order: nothing reached it
            self._drop(conn)
            raise WriterUnavailable(str(e)) from None
        try:
            if conn.poll(self.answer_timeout):
                return conn.recv()
        except (EOFError, OSError):
            pass
        # Sent, but no answer (it died, or hangs): it may or may not commit this order. Never write it
        # again here (that could make a second order); the client retries with its Idempotency-Key.
        self._drop(conn)
        raise errors.ServiceUnavailable(
            "The order writer did not answer while saving this order; it may or may not be saved. "
            "Retry with the same Idempotency-Key.")

    def _drop(self, conn: Connection) -> None:
        self._local.conn = None
        conn.close()


def _set_os_timeouts(sock: socket.socket, seconds: float) -> None:
    timeval = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


def use(settings: Settings) -> None:
    """In a web worker of `appliance serve`: send orders to the box's writer from now on."""
    # A group takes milliseconds; twice the database's own lock timeout means it hangs.
    answer_timeout = max(1.0, 2 * settings.database.busy_timeout_ms / 1000)
    client = OrderWriterClient(socket_path(settings), auth_key(settings), answer_timeout)
    orders.send_orders_through(client.place)


def main(argv: list[str]) -> None:
    from . import config
    # The parent (`appliance serve`) validated the whole file, every package's section included;
    # this process writes orders with the core's settings and leaves the other sections to them.
    serve(config.load(Path(argv[0]), unregistered_sections="leave"), int(argv[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
