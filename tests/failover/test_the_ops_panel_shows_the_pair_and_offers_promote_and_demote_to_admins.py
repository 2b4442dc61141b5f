"""The pair's panel (real etcd, real lease holders, Flask test client): admins see it on /ops with the
role, epoch, lease holder and age, fenced and the members, and promote/demote buttons that start the
registered operations (demote hands the orders to box-b with the next epoch; a planned promote takes
them back); managers read it on /ops/failover without buttons; staff see neither."""
from __future__ import annotations

import pytest

from appliance import accounts
from appliance.models import OperationRun
from tests.failover.pair import TTL, wait_until_writing
from tests.failover.served import pair, settings  # noqa: F401
from tests.servers.etcd import etcd_cluster  # noqa: F401
from tests.web.web_helpers import PASSWORD, USERNAMES, post_form, sign_in
from web import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def password_hash() -> str:
    return accounts.hash_password(PASSWORD)


@pytest.fixture
def client_for(db, settings, password_hash):  # noqa: F811
    app = create_app(settings, connect=False)
    users = {role: accounts.create_user(name, "", role, "test", password_hash=password_hash)
             for role, name in USERNAMES.items()}
    return lambda role: sign_in(app.test_client(), users[role])


def test_admins_move_the_lease_managers_read_staff_see_nothing(client_for, pair):  # noqa: F811
    a, b = pair
    epoch = a.permit().epoch
    admin, manager, staff = client_for("admin"), client_for("manager"), client_for("staff")

    page = admin.get("/ops").get_data(as_text=True)
    assert 'id="failover"' in page and "This box (box-a) is the primary" in page
    assert "box-a (primary)" in page and f"box-a (epoch {epoch})" in page and "3 of 3 reachable" in page
    assert "no: this box writes" in page and page.count('status-ok">ok</span></li>') == 3
    assert 'data-operation="failover.promote"' in page and 'data-operation="failover.demote"' in page

    assert manager.get("/ops").status_code == 403
    read = manager.get("/ops/failover")
    shown = read.get_data(as_text=True)
    assert read.status_code == 200 and "This box (box-a) is the primary" in shown and "3 of 3 reachable" in shown
    assert "data-operation" not in shown and "Read-only" in shown
    assert staff.get("/ops/failover").status_code == 403

    done = post_form(admin, "/ops/operations/failover.demote")
    assert done.status_code == 302
    assert not a.writes()
    assert wait_until_writing(b, timeout=3 * TTL).epoch == epoch + 1
    after = admin.get("/ops/failover").get_data(as_text=True)
    assert "Demote this box" in after and "An operator demoted this box" in after
    assert "box-b (epoch" in after

    done = post_form(admin, "/ops/operations/failover.promote", {"planned": "true", "planned__present": "1"})
    assert done.status_code == 302
    assert a.writes() and a.permit().epoch == epoch + 2
    assert {r.operation for r in OperationRun.select()} >= {"failover.demote", "failover.promote"}
    assert {r.actor for r in OperationRun.select()} == {USERNAMES["admin"]}
