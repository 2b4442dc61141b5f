"""`appliance failover patroni-config` refuses, with one sentence and no file, what would make a
broken or unsafe PostgreSQL pair: a SQLite database, Patroni timings that let a primary keep its key
after it stopped being able to renew it, a missing password file; it needs engine = "patroni"."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from appliance import config

APPLIANCE = str(Path(sys.executable).parent / "appliance")


def _patroni_config(home: Path, tmp_path: Path, extra: str = "", url: str | None = None) -> subprocess.CompletedProcess:
    toml = home / config.CONFIG_FILE
    text = toml.read_text()
    if url:
        text = text.replace('url = "sqlite:///appliance.db"', f'url = "{url}"', 1)
    toml.write_text(text + '\n[failover]\nenabled = true\nengine = "patroni"\nname = "box-a"\n' + extra)
    return subprocess.run([APPLIANCE, "failover", "patroni-config", "--output", str(tmp_path / "patroni.yml")],
                          env={**os.environ, "APPLIANCE_HOME": str(home)}, capture_output=True, text=True)


PG_URL = "postgresql://appliance:pw@127.0.0.1:5432,127.0.0.1:5433/shop?target_session_attrs=read-write"


def test_a_sqlite_box_gets_no_patroni_config(home, tmp_path):
    done = _patroni_config(home, tmp_path)
    assert done.returncode != 0 and "needs a PostgreSQL database.url" in done.stderr
    assert not (tmp_path / "patroni.yml").exists()


def test_timings_that_outlive_the_leader_key_are_refused(home, tmp_path):
    done = _patroni_config(home, tmp_path, "[failover.patroni]\nttl_seconds = 20\nloop_wait_seconds = 10\n"
                                           "retry_timeout_seconds = 6\n", url=PG_URL)
    assert done.returncode != 0 and "the Patroni timings are unsafe" in done.stderr and "22 s" in done.stderr
    assert not (tmp_path / "patroni.yml").exists()


def test_a_missing_password_file_is_named(home, tmp_path):
    done = _patroni_config(home, tmp_path, url=PG_URL)
    assert done.returncode != 0 and "pg-replication.secret" in done.stderr and "cannot be read" in done.stderr
    assert not (tmp_path / "patroni.yml").exists()


def test_a_lease_pair_is_told_to_choose_patroni_first(home, tmp_path):
    toml = home / config.CONFIG_FILE
    toml.write_text(toml.read_text() + '\n[failover]\nenabled = true\nname = "box-a"\n')
    done = subprocess.run([APPLIANCE, "failover", "patroni-config", "--output", str(tmp_path / "patroni.yml")],
                          env={**os.environ, "APPLIANCE_HOME": str(home)}, capture_output=True, text=True)
    assert done.returncode != 0 and 'engine = "patroni"' in done.stderr
