"""A box whose config enables failover but whose lease holder has never run writes nothing (fail
closed): failover's gate refuses, and leaves a refusing permit that the order writer, which loads
only the core, obeys too. With failover off, a box without a permit writes as a single box."""
from appliance import fencing
from appliance.models import Order
from appliance.order_writer import write_group
from failover.fence import NOT_STARTED
from tests.api.conftest import api, app, order_body, shop  # noqa: F401
from tests.core.order_jobs import order_job
from tests.failover.pair import failover_toml


def test_orders_and_readyz_are_refused_until_the_lease_holder_runs(home, settings, api, shop):
    assert api.post("staff", "/orders", json=order_body(("TEA", 1))).status_code == 201, "failover off: writes"
    with open(home / "appliance.toml", "a") as f:
        f.write(failover_toml("box-a", ["http://127.0.0.1:9"], "primary", "/x/"))

    answer = api.post("staff", "/orders", json=order_body(("TEA", 1)))
    assert answer.status_code == 503
    assert answer.get_json()["error"] == f"This box is fenced: {NOT_STARTED}."
    assert api.client.get("/readyz").status_code == 503

    permit = fencing.read_permit(home)
    assert permit is not None and not permit.granted, "a refusing permit for every process of the box"
    fencing.unregister("failover")  # the order writer's process has only the core's permit check
    try:
        job = order_job(settings, 1)
        write_group([job])
        assert job.error is not None and NOT_STARTED in job.error.message
    finally:
        import failover.fence as fence
        fencing.register("failover", fence._gate)
    assert Order.select().count() == 1
