"""/ops lists every registered operation; an admin starts a backup there and is taken to its run's
page, which shows it queued or running, then how it ended, while the backup runs in a child process
(not in the request). A refused start (another run holds the box) says why on the page."""
from __future__ import annotations

import re

import pytest

from appliance import config, operations
from appliance.models import OperationRun
from tests.backup.helpers import local_target, write_targets
from tests.servers.waiting import wait_for

from .web_helpers import post_form


@pytest.fixture
def settings(home, tmp_path, database_url):
    write_targets(home, [local_target("disk", tmp_path / "disk")])
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url})


def test_every_registered_operation_is_listed_on_ops(admin):
    body = admin.get("/ops").get_data(as_text=True)
    listed = set(re.findall(r"<li><code>([a-z0-9_.-]+)</code>", body[body.index('id="every-operation"'):]))

    assert listed == {op.name for op in operations.registered()}
    assert {"backup.run", "backup.verify", "backup.restore", "replication.verify", "monitors.ack"} <= listed


def test_an_admin_starts_a_backup_and_follows_it_to_its_end(admin, settings, make_product):
    make_product("TEA")

    response = post_form(admin, "/ops/operations/backup.run", {})

    assert response.status_code == 302
    run_id = int(re.fullmatch(r".*/ops/runs/(\d+)", response.headers["Location"])[1])
    first = admin.get(f"/ops/runs/{run_id}").get_data(as_text=True)
    assert re.search(r'data-outcome="(queued|running|ok)"', first)
    done = wait_for(lambda: OperationRun.get_by_id(run_id).outcome not in ("queued", "running"), timeout=60,
                    what="the backup started from /ops to end")
    assert done
    page = admin.get(f"/ops/runs/{run_id}").get_data(as_text=True)
    assert 'data-outcome="ok"' in page and "stored on disk" in page
    assert 'http-equiv="refresh"' not in page  # it stops refreshing once the run ended
    run = OperationRun.get_by_id(run_id)
    assert run.actor == "ada" and run.source == "web" and run.pid != __import__("os").getpid()


def test_a_start_refused_by_the_registry_is_explained_on_ops(admin, settings):
    OperationRun.create(operation="backup.run", actor="ada", actor_role="admin", source="web", outcome="queued")
    with operations._exclusive(settings, operations.get("backup.run"), "cli"):  # another process holds the box
        response = post_form(admin, "/ops/operations/backup.prune", {"dry_run__present": "1"}, follow_redirects=True)

    assert response.status_code == 200
    assert "backup.prune cannot start" in response.get_data(as_text=True)
