"""The order writer checks the write permit's deadline itself, right before each COMMIT: a group whose
permit runs out while it is being written is refused whole (503, "This box is fenced: …"), nothing of
it is written, and a web worker gets that 503 from the writer's answer. No process has to notice the
deadline: this is what fences a box whose lease holder stalled."""
import time

import pytest

from appliance import errors, fencing, inventory
from appliance.models import Order
from appliance.order_writer import Job, raise_answer, write_group
from tests.core.order_jobs import order_job, stock


def _permit(home, seconds: float, epoch: int = 4) -> None:
    fencing.write_permit(home, fencing.Permit(True, fencing.boot_clock() + seconds, fencing.boot_id(), epoch,
                                              "box-a", "holds the lease"))


def test_a_group_whose_permit_runs_out_before_its_commit_writes_nothing(settings, db):
    stock(5)
    _permit(settings.home, 60)
    write_group([order_job(settings, 1)])
    assert Order.select().count() == 1, "a box with a valid permit writes"

    _permit(settings.home, 0.3)
    group = [order_job(settings, 1), Job(lambda: time.sleep(0.5)), order_job(settings, 2)]  # the deadline passes mid-group
    write_group(group)

    assert all(isinstance(job.error, errors.ServiceUnavailable) for job in group)
    assert group[0].error.message.startswith("This box is fenced: its write permit (epoch 4) ran out")
    assert Order.select().count() == 1
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["available"] == 4


def test_a_fenced_box_starts_no_write_and_the_worker_gets_a_503(settings, db):
    stock(5)
    fencing.write_permit(settings.home, fencing.Permit(False, 0.0, fencing.boot_id(), 3, "box-a",
                                                      "box-b holds the lease (epoch 4)"))
    job = order_job(settings, 1)
    write_group([job])
    answer = ("error", type(job.error).__name__, job.error.message, job.error.details)
    with pytest.raises(errors.ServiceUnavailable) as refused:
        raise_answer(answer)  # what a web worker does with the writer's answer
    assert refused.value.status == 503
    assert refused.value.message == "This box is fenced: box-b holds the lease (epoch 4)."
    assert Order.select().count() == 0


def test_a_permit_from_an_earlier_boot_or_unreadable_refuses(settings, db):
    stock(5)
    fencing.write_permit(settings.home, fencing.Permit(True, fencing.boot_clock() + 60, "another-boot", 2, "box-a"))
    assert "earlier boot" in fencing.refusal()
    fencing.permit_path(settings.home).write_text("{not json")
    assert "unreadable" in fencing.refusal()
    fencing.remove_permit(settings.home)
    assert fencing.refusal() is None, "a single box (no permit file) writes"
