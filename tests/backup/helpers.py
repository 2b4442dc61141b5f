"""Target tables for appliance.toml, and small checks shared by the backup tests."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from appliance import config
from appliance.db import open_database
from backup.snapshot import counts_of
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY


def local_target(name: str, path: Path | str, medium: str = "disk", offsite: bool = False, **extra) -> dict:
    return {"name": name, "kind": "local", "path": str(path), "medium": medium, "offsite": offsite, **extra}


def sftp_target(name: str, sshd, folder: str, medium: str = "nas", **extra) -> dict:
    return {"name": name, "kind": "sftp", "host": "127.0.0.1", "port": sshd.port, "user": sshd.user,
            "key_file": str(sshd.client_key), "host_key": sshd.host_key, "path": str(sshd.root / folder),
            "medium": medium, "offsite": False, "timeout_seconds": 3, **extra}


def s3_target(name: str, s3, bucket: str, home: Path, lock_days: int = 0, **extra) -> dict:
    (home / "keys" / "s3.secret").write_text(SECRET_KEY + "\n")
    return {"name": name, "kind": "s3", "endpoint": s3.endpoint, "bucket": bucket, "prefix": "shop1",
            "access_key_id": ACCESS_KEY, "secret_access_key_file": "keys/s3.secret",
            "object_lock_days": lock_days, "medium": "cloud", "offsite": True, "timeout_seconds": 3, **extra}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def write_targets(home: Path, targets: list[dict], backup_options: dict | None = None) -> None:
    """Rewrites the [backup] part of appliance.toml; the rest stays as `appliance init` wrote it."""
    path = home / config.CONFIG_FILE
    text = path.read_text()
    head = text.split("[backup]")[0]
    lines = ["[backup]", 'key_file = "keys/backup.key"']
    # Retries within a run are quick here (tests stop servers on purpose); their own test sets them.
    options = {"retry_in_run_seconds": 0.1, **(backup_options or {})}
    lines += [f"{k} = {_toml_value(v)}" for k, v in options.items()]
    for target in targets:
        lines.append("\n[[backup.targets]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in target.items()]
    path.write_text(head + "\n".join(lines) + "\n")


def sqlite_counts(path: Path) -> dict:
    return counts_of(open_database(f"sqlite:///{path}"))


def order_rows(path: Path) -> list[tuple]:
    """Every order with its lines, to compare data (not just counts) after a restore."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT o.number, o.status, o.total_cents, l.qty, l.line_total_cents FROM orders o "
            "JOIN order_line l ON l.order_id = o.id ORDER BY o.number, l.id").fetchall()
    finally:
        conn.close()


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def add_incompressible_rows(total_bytes: int) -> None:
    """Random bytes in the live database, so the payload is about `total_bytes` after zstd."""
    import os

    from appliance.db import database
    database.execute_sql("CREATE TABLE IF NOT EXISTS test_ballast (data BLOB)")
    block = 256 * 1024
    for _ in range(max(1, total_bytes // block)):
        database.execute_sql("INSERT INTO test_ballast (data) VALUES (?)", (os.urandom(block),))
