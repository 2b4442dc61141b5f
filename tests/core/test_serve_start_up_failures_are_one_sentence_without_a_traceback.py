"""`appliance serve` on a home that cannot serve (a restored home without its secret key, a missing
backup key, a database file that is not a database) exits non-zero within seconds with one sentence
on stderr naming the problem and what to do: no traceback, no gunicorn "Worker failed to boot".
Real processes: the home is made by `appliance init`, the server started as the service starts it."""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.durability.served import APPLIANCE, REPO, ServedAppliance
from tests.servers.ports import free_port


@pytest.fixture
def box(tmp_path: Path) -> ServedAppliance:
    return ServedAppliance(tmp_path / "home").init()


def serve(box: ServedAppliance, port: int | None = None) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run(APPLIANCE + ["--home", str(box.home), "serve", "--host", "127.0.0.1",
                                         "--port", str(port or free_port()), "--workers", "1"],
                            capture_output=True, text=True, env=box.env, cwd=REPO, timeout=60)
    return result, time.monotonic() - started


def assert_one_sentence(result: subprocess.CompletedProcess, seconds: float, *names: str) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stderr
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "Worker failed to boot" not in result.stderr
    assert "Listening at" not in result.stdout + result.stderr  # refused before gunicorn started
    for name in names:
        assert name in lines[0], lines[0]
    assert seconds < 20, seconds
    return lines[0]


def test_a_missing_secret_key_says_to_run_init_and_that_init_is_safe(box):
    (box.home / "keys" / "secret.key").unlink()
    result, seconds = serve(box)
    line = assert_one_sentence(result, seconds, "server.secret_key_file", str(box.home / "keys" / "secret.key"),
                               "does not exist", "appliance init")
    assert "keeps the database" in line

    database = (box.home / "appliance.db").stat().st_ino
    out = box.cli("init")  # what the sentence says: the database is kept, only the key is made
    assert out.splitlines()[0] == f"created {box.home / 'keys' / 'secret.key'}", out
    assert "admin admin already exists" in out and "password" not in out
    assert (box.home / "appliance.db").stat().st_ino == database


def test_a_missing_backup_key_says_where_it_comes_from(box):
    (box.home / "keys" / "backup.key").unlink()
    result, seconds = serve(box)
    assert_one_sentence(result, seconds, "backup.key_file", str(box.home / "keys" / "backup.key"),
                        "does not exist", "backup key export")


def test_a_database_that_is_not_a_database_says_to_restore_it(box):
    database = box.home / "appliance.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(b"garbage, not SQLite " * 500)
    result, seconds = serve(box)
    assert_one_sentence(result, seconds, str(database), "not a database", "appliance restore --force")


def test_an_address_in_use_says_so_at_once(box):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result, seconds = serve(box, port)
    assert_one_sentence(result, seconds, f"127.0.0.1:{port}", "in use", "--port")
    assert seconds < 5, seconds  # not gunicorn's five tries


def test_a_worker_that_still_cannot_build_the_app_prints_one_line_and_exits_as_a_boot_failure(
        settings, capsys):
    """What the master's checks miss (here the key vanishes after them) ends a worker with one line
    and gunicorn's boot-failure status (the master then stops), not a traceback."""
    from cli.serve_cmd import ApplianceServer

    server = ApplianceServer(settings, {"bind": "127.0.0.1:0"})
    settings.path(settings.server.secret_key_file).unlink()
    with pytest.raises(SystemExit) as stopped:
        server.load()
    assert stopped.value.code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("Error: a web worker could not start: Setting server.secret_key_file:"), err
