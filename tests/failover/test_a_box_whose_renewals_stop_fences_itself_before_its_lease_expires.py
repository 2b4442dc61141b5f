"""The primary's only etcd member stops answering (SIGSTOP): its renewals fail, and the box refuses
writes — orders get 503 "This box is fenced: …", /readyz is 503 — from a deadline that ends before its
lease can expire. The standby, which still reaches the quorum, takes the lease only after the
expiry, with a higher epoch."""
from __future__ import annotations

import pytest

from appliance import fencing
from tests.api.conftest import api, app, order_body, shop  # noqa: F401
from tests.failover.pair import MARGIN, TTL, make_box, wait_until_writing
from tests.servers.etcd import start_etcd_cluster
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path):
    cluster = start_etcd_cluster(tmp_path / "etcd")
    yield cluster
    cluster.stop()


def test_the_primary_fences_itself_before_expiry_and_the_standby_takes_over_after(tmp_path, home, cluster, api, shop):
    m0, m1, m2 = cluster.members
    a = make_box(home.parent, home.name, [m0.client_url], "primary", "/renewals/")  # the API's home is box A's
    b = make_box(tmp_path, "box-b", [m1.client_url, m2.client_url], "standby", "/renewals/")
    try:
        a.start(), b.start()
        first = wait_until_writing(a)
        assert api.post("staff", "/orders", json=order_body(("TEA", 1))).status_code == 201
        assert api.client.get("/readyz").status_code == 200

        m0.pause()  # box A's renewals now time out
        stopped_at = fencing.boot_clock()
        fenced_seen = wait_for(lambda: not a.writes() and fencing.boot_clock(), timeout=TTL + 2,
                               what="box A to fence itself", step=0.01)
        permit_deadline = a.permit().until
        expires_at = a.state()["expires_at"]  # last renewal sent + TTL: the lease lives at least this long
        assert permit_deadline == pytest.approx(expires_at - MARGIN)
        assert stopped_at < fenced_seen < expires_at, "fenced before the lease could expire"
        assert not b.writes(), "nobody else writes yet"

        answer = api.post("staff", "/orders", json=order_body(("TEA", 1)))
        assert answer.status_code == 503
        assert answer.get_json()["error"].startswith("This box is fenced: ")
        assert "\n" not in answer.get_json()["error"] and answer.get_json()["error"].endswith(".")
        ready = api.client.get("/readyz")
        assert ready.status_code == 503 and "fenced" in ready.get_json()["reason"]

        second = wait_until_writing(b, timeout=3 * TTL)
        assert second.epoch == first.epoch + 1
        assert b.state()["taken_at"] > expires_at, "the standby's grant was sent after A's lease expired"
        assert not a.writes()
    finally:
        a.stop(), b.stop()
