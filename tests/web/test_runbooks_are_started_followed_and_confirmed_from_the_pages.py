"""/ops/runbooks as IT staff use it in an incident: an admin starts the disk-full runbook from its
page and is taken to the run, which goes on in a child process; it stops at a manual step, which a
staff user may not confirm (403) and the admin confirms from the page; the run then goes on to its
end. Managers read the runbooks but cannot start one."""
from __future__ import annotations

import re

from runbooks.journal import Journal
from runbooks.loader import load_library
from tests.servers.waiting import wait_for

from .web_helpers import post_form


def _state(settings, run_id: str):
    journal = Journal(settings.home, run_id)
    return journal.view() if journal.path.exists() else None


def _next_stop(settings, run_id: str, after: str | None = None):
    """The run once it waits at a step other than `after`, or has ended."""
    def stopped():
        view = _state(settings, run_id)
        if view is None:
            return None
        waiting = [s for s, v in view.steps.items() if v.state == "waiting" and s != after]
        return view if view.status in ("completed", "failed") or (view.status == "waiting" and waiting) else None
    return wait_for(stopped, timeout=60, what=f"the run to stop at a step after {after}")


def _waiting(view) -> str:
    return next(step for step, v in view.steps.items() if v.state == "waiting")


def test_an_admin_runs_disk_full_from_the_pages_and_confirms_its_manual_steps(admin, staff, settings):
    response = post_form(admin, "/ops/runbooks/disk-full/start", {})
    assert response.status_code == 302
    run_id = re.fullmatch(r".*/ops/runbooks/runs/(rb-[0-9TZ-]+[0-9a-f]+)", response.headers["Location"])[1]

    view = _next_stop(settings, run_id)
    assert view.status == "waiting", (view.status, view.reason)
    step = _waiting(view)
    page = admin.get(f"/ops/runbooks/runs/{run_id}").get_data(as_text=True)
    assert f'data-step="{step}" data-state="waiting"' in page and f'aria-label="Confirm {step}"' in page
    assert 'id="rto-clock"' in page

    refused = post_form(staff, f"/ops/runbooks/runs/{run_id}/confirm/{step}", {"note": "done"})
    assert refused.status_code == 403
    assert _state(settings, run_id).steps[step].state == "waiting"

    confirmed = []
    while view.status == "waiting":  # every manual step of the runbook, confirmed from the page as it comes
        step = _waiting(view)
        assert post_form(admin, f"/ops/runbooks/runs/{run_id}/confirm/{step}", {"note": "done"}).status_code == 302
        confirmed.append(step)
        view = _next_stop(settings, run_id, after=step)

    assert view.status == "completed", (view.reason, {k: (v.state, v.error) for k, v in view.steps.items()})
    assert confirmed == [s.id for s in load_library()["disk-full"].steps if s.kind == "manual"]
    assert view.actor == "ada" and all(view.steps[s].actor == "ada" for s in confirmed)
    finished = admin.get(f"/ops/runbooks/runs/{run_id}").get_data(as_text=True)
    assert 'data-status="completed"' in finished and 'http-equiv="refresh"' not in finished


def test_a_manager_reads_the_runbooks_but_cannot_start_one(manager):
    listing = manager.get("/ops/runbooks").get_data(as_text=True)
    assert 'data-runbook="box-lost"' in listing and 'data-runbook="disk-full"' in listing
    page = manager.get("/ops/runbooks/disk-full").get_data(as_text=True)
    assert 'id="runbook-steps"' in page and 'id="start-runbook"' not in page
    assert post_form(manager, "/ops/runbooks/disk-full/start", {}).status_code == 403


def test_each_check_on_ops_links_to_its_runbook_page(admin):
    body = admin.get("/ops").get_data(as_text=True)
    assert '<a href="/ops/runbooks/disk-full">disk-full</a>' in body
    assert admin.get("/ops/runbooks/disk-full").status_code == 200
