"""Deleting the replica's newest files cannot make "restore to the last second" silently return older
data: the shipper keeps a signed index of what it shipped (newest TXID and its time), and a restore
from a replica that ends before the index says so warns, in one sentence, where it ends, what the
index lists and how many files are missing; `replication verify` records that as partial. The
restore still goes ahead with what the replica holds (when the box is gone, that is all there is).
An intact replica restores without a word, as before."""
from __future__ import annotations

import json

from appliance.models import OperationRun
from backup import replication, sealed_replica

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import add_orders, caught_up, order_numbers, replication_options


def _replicated(settings) -> tuple[list[str], list[str]]:
    """Orders in two batches, each acknowledged by the replica: the second one in the newest files."""
    supervisor = replication.Supervisor(settings).start()
    try:
        first = wait_for(lambda: caught_up(settings), what="the first sync")["local_txid"]
        older = add_orders(settings, 3)
        first = wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > first and f,
                         what="the first batch to reach the replica")["local_txid"]
        newest = add_orders(settings, 2, start=3)
        wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > first and f,
                 what="the second batch to reach the replica")
    finally:
        supervisor.stop()
    return older, newest


def _newest_files(remote) -> list:
    files = list(remote.rglob("*.ltx.aes"))
    top = max(sealed_replica.max_txid(str(p.relative_to(remote))) for p in files)
    return [p for p in files if sealed_replica.max_txid(str(p.relative_to(remote))) == top]


def test_a_replica_with_its_newest_file_deleted_restores_what_it_holds_and_says_what_is_missing(
        shop, configure, sshd_server, tmp_path, cli):
    settings = configure(sftp_target("nas", sshd_server, "truncated"), **replication_options("nas"))
    older, newest = _replicated(settings)
    remote = sshd_server.root / "truncated-litestream"
    index = json.loads((remote / sealed_replica.INDEX_KEY).read_text())
    deleted = _newest_files(remote)
    assert index["newest_txid"] == sealed_replica.max_txid(str(deleted[0].relative_to(remote)))
    for p in deleted:
        p.unlink()  # what someone with write access to the NAS (or a failing disk) can do
    remaining = [str(p.relative_to(remote)) for p in remote.rglob("*.ltx.aes")]
    assert sealed_replica.chain_gap(remaining) is None  # a consistent, older replica: nothing else notices
    ends_at = max(sealed_replica.max_txid(k) for k in remaining)
    out = tmp_path / "restored.db"

    result = cli("restore", "--from-replica", "--output", str(out), "--quiet")

    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, result.output
    print(warnings[0])
    assert f"(target nas) ends at transaction {ends_at} (" in warnings[0]
    assert f"lists files up to transaction {index['newest_txid']} (" in warnings[0]
    assert f"{len(deleted)} newest file{'' if len(deleted) == 1 else 's'} missing" in warnings[0]
    assert "a restore reaches" in warnings[0] and "UTC at the latest." in warnings[0]
    assert set(older) <= order_numbers(out)
    assert not set(newest) & order_numbers(out)  # the older state it warned about

    verified = cli("replication", "verify", "--quiet")

    assert verified.exit_code == 0, verified.output
    assert f"(target nas) ends at transaction {ends_at} (" in verified.output
    run = OperationRun.select().where(OperationRun.operation == "replication.verify").get()
    assert run.outcome == "partial" and "newest file" in run.summary


def test_an_intact_replica_restores_every_order_without_a_warning(shop, configure, sshd_server, tmp_path, cli):
    settings = configure(sftp_target("nas", sshd_server, "intact"), **replication_options("nas"))
    older, newest = _replicated(settings)
    out = tmp_path / "restored.db"

    result = cli("restore", "--from-replica", "--output", str(out), "--quiet")

    assert result.exit_code == 0, result.output
    assert "warning:" not in result.output and "note:" not in result.output
    assert set(older) | set(newest) <= order_numbers(out)


def test_the_index_cannot_be_edited_to_hide_the_gap_or_deleted_without_a_note(
        shop, configure, sshd_server, tmp_path, cli):
    settings = configure(sftp_target("nas", sshd_server, "edited"), **replication_options("nas"))
    _replicated(settings)
    remote = sshd_server.root / "edited-litestream"
    for p in _newest_files(remote):
        p.unlink()
    index_file = remote / sealed_replica.INDEX_KEY
    index = json.loads(index_file.read_text())
    index["newest_txid"] = 1  # claims less than the replica holds: no gap to report
    index_file.write_text(json.dumps(index))

    edited = cli("restore", "--from-replica", "--output", str(tmp_path / "edited.db"), "--quiet")

    assert edited.exit_code == 0, edited.output
    assert "note: The signed index of the replica sftp://" in edited.output
    assert ("(target nas) fails its HMAC check (altered, or made with another backup key): whether its newest "
            "files are all there cannot be checked.") in edited.output
    index_file.unlink()

    removed = cli("restore", "--from-replica", "--output", str(tmp_path / "removed.db"), "--quiet")

    assert removed.exit_code == 0, removed.output
    assert ("(target nas) has no signed index although its files were sealed by an appliance that "
            "writes one (it was removed): whether its newest files are all there cannot be checked.") in removed.output
