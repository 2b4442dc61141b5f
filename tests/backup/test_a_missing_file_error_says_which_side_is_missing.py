"""A download has two sides, and its error names the one that is missing: a key the target does not
hold is MissingObject "missing on the target, not on this box"; a local folder removed under a
download is another error, "on this box; the target's file is not the problem" (it once read "Target
nas has no 0/…ltx.aes" while the file was on the server). For every kind of target."""
from __future__ import annotations

import io
import uuid

import pytest

from backup.errors import BackupError, MissingObject
from backup.targets import open_targets

from .helpers import local_target, s3_target, sftp_target


@pytest.fixture(params=["local", "sftp", "s3"])
def target(request, configure, home, tmp_path):
    kind = request.param
    if kind == "local":
        spec = local_target("disk", tmp_path / "disk")
    elif kind == "sftp":
        spec = sftp_target("nas", request.getfixturevalue("sshd_server"), f"sides-{uuid.uuid4().hex[:8]}")
    else:
        s3 = request.getfixturevalue("s3_server")
        spec = s3_target("offsite", s3, s3.new_bucket(), home)
    [opened] = open_targets(configure(spec))
    yield opened
    opened.close()


def test_a_key_missing_on_the_target_is_said_to_be_missing_on_the_target(target, tmp_path):
    with pytest.raises(MissingObject) as missing:
        target.get("0/0000000000000001-0000000000000001.ltx.aes", tmp_path / "download")

    message = str(missing.value)
    assert target.name in message and "0/0000000000000001-0000000000000001.ltx.aes" in message
    assert "missing on the target, not on this box" in message


def test_a_local_folder_gone_under_a_download_is_said_to_be_missing_on_this_box(target, tmp_path):
    target.put_stream(io.BytesIO(b"sealed bytes"), "0/0000000000000001-0000000000000001.ltx.aes")
    gone = tmp_path / "replica-restore-123-abcdef"  # removed by someone else before the download

    with pytest.raises(BackupError) as failed:
        target.get("0/0000000000000001-0000000000000001.ltx.aes", gone / "replica.download")

    assert not isinstance(failed.value, MissingObject)  # a restore must not take it for a compacted file
    message = str(failed.value)
    assert f"the local folder {gone} is missing" in message and "on this box" in message
    assert "has no" not in message
