"""`appliance audit verify` detects an edited or deleted event and names the first bad one."""
from click.testing import CliRunner

from appliance import audit, inventory
from cli import main
from appliance.models import AuditEvent, AuditHead


def _events(db):
    for sku in ("A", "B", "C", "D"):
        inventory.create_product({"sku": sku, "name": sku, "price_cents": 100}, "alice")
    return [e.id for e in AuditEvent.select().order_by(AuditEvent.id)]


def test_an_untouched_chain_verifies(db):
    _events(db)
    report = audit.verify()
    assert (report.ok, report.checked) == (True, 4)


def test_an_edited_event_is_named(db):
    ids = _events(db)
    AuditEvent.update(actor="mallory").where(AuditEvent.id == ids[1]).execute()
    report = audit.verify()
    assert (report.ok, report.first_bad_id) == (False, ids[1])
    assert "edited" in report.reason


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(db):
    ids = _events(db)
    event = AuditEvent.get_by_id(ids[1])
    event.actor = "mallory"
    event.hash = audit._hash(event.prev_hash, event)
    event.save()
    assert audit.verify().first_bad_id == ids[2]


def test_a_deleted_event_is_found(db):
    ids = _events(db)
    AuditEvent.delete().where(AuditEvent.id == ids[2]).execute()
    report = audit.verify()
    assert (report.ok, report.first_bad_id) == (False, ids[3])
    assert "deleted" in report.reason


def test_deleting_the_latest_events_is_found_from_the_head(db):
    ids = _events(db)
    AuditEvent.delete().where(AuditEvent.id >= ids[2]).execute()
    report = audit.verify()
    assert not report.ok and "latest events were deleted" in report.reason
    assert AuditHead.get_by_id(1).last_id == ids[3]


def test_the_cli_exits_non_zero_naming_the_event(home, db):
    ids = _events(db)
    runner = CliRunner()
    ok = runner.invoke(main, ["--home", str(home), "audit", "verify"])
    assert ok.exit_code == 0 and "4 events" in ok.output
    AuditEvent.update(after='{"x":1}').where(AuditEvent.id == ids[0]).execute()
    bad = runner.invoke(main, ["--home", str(home), "audit", "verify"])
    assert bad.exit_code == 1
    assert f"event {ids[0]}" in bad.output
