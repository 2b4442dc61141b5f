"""keepalived's track script (failover.holds) lets the shop address come to a box whose lease holder
holds the lease and is applying the primary's last transactions (a promotion), so the address moves
while the tail is applied instead of after; the permit still refuses every write meanwhile. Once the
instant the holder would stop counting on that lease has passed (a holder that stalled in the
promotion), or for a state left from another boot or another epoch, the box is fenced like any other."""
import json

from appliance import fencing
from failover.holds import verdict


def _promoting(home, epoch: int = 4, fence_in: float = 2.0, boot: str | None = None) -> None:
    fencing.write_permit(home, fencing.Permit(False, 0.0, fencing.boot_id(), epoch, "box-b",
                                              f"it is applying what it received from the primary before it writes (epoch {epoch})"))
    (home / "fence" / "holder.json").write_text(json.dumps({
        "name": "box-b", "holding": True, "epoch": epoch, "promoting": True, "boot_id": boot or fencing.boot_id(),
        "fence_at": fencing.boot_clock() + fence_in}))


def test_a_box_applying_the_tail_of_its_lease_may_take_the_address_but_not_write(home):
    _promoting(home)
    holds, said = verdict(home)
    assert holds and "applies the primary's last transactions" in said
    assert not fencing.permits_writes(home)


def test_a_promotion_that_outlived_its_renewals_gives_the_address_up(home):
    _promoting(home, fence_in=-0.1)
    assert verdict(home) == (False, "This box is fenced: it is applying what it received from the primary "
                                    "before it writes (epoch 4).")


def test_a_promotion_state_from_another_boot_or_epoch_counts_for_nothing(home):
    _promoting(home, boot="another-boot")
    assert not verdict(home)[0]
    _promoting(home)
    fencing.write_permit(home, fencing.Permit(False, 0.0, fencing.boot_id(), 5, "box-b", "box-a holds the lease (epoch 5)"))
    assert not verdict(home)[0]
