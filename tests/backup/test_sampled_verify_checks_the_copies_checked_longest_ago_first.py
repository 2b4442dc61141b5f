"""`backup verify --sample` checks the copies checked longest ago first: successive runs cover all."""
from __future__ import annotations

from collections import Counter

from backup.models import BackupCopy, VerifyResult
from backup.run import run_backup
from backup.verify import sample_size, verify

from .helpers import local_target


def test_four_runs_at_25_percent_verify_each_of_four_copies_exactly_once(shop, configure, tmp_path):
    settings = configure(local_target("a", tmp_path / "a"), local_target("b", tmp_path / "b", medium="usb"))
    run_backup(settings, show_progress=False)
    run_backup(settings, show_progress=False)  # 2 backups x 2 targets = 4 copies

    checked = []
    for _ in range(4):
        outcomes = verify(settings, sample="25%", show_progress=False)
        assert len(outcomes) == 1 and outcomes[0].ok
        checked.append((outcomes[0].backup_id, outcomes[0].target))

    assert len(set(checked)) == 4
    assert Counter(r.copy_id for r in VerifyResult.select()) == Counter({c.id: 1 for c in BackupCopy.select()})
    assert all(c.verify_state == "ok" for c in BackupCopy.select())
    fifth = verify(settings, sample="25%", show_progress=False)
    assert (fifth[0].backup_id, fifth[0].target) == checked[0]  # the rotation starts over


def test_sample_sizes_round_up_and_never_exceed_the_copies():
    assert sample_size("10%", 25) == 3
    assert sample_size("10%", 1) == 1
    assert sample_size("3", 2) == 2
    assert sample_size(None, 7) == 7
