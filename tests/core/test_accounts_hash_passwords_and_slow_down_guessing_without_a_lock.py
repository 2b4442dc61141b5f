"""Passwords are argon2 hashes; repeated failures slow guessing down (per address, and per user name at
that address) with waits that double up to a cap, never a lock; tokens are stored hashed."""
import json
from contextlib import ExitStack
from datetime import timedelta

import pytest

from appliance import accounts, clock
from appliance.errors import Conflict, Invalid, Unauthorized
from appliance.models import ApiToken, AuditEvent, SignInThrottle, User

ANSWER = accounts.SIGN_IN_FAILED


def later(seconds: float):
    """The box's clock moved `seconds` ahead (it keeps ticking)."""
    return clock.shifted_to(clock.utcnow() + timedelta(seconds=seconds))


def throttle(kind: str, key: str) -> SignInThrottle:
    return SignInThrottle.get((SignInThrottle.kind == kind) & (SignInThrottle.key == key))


def test_a_password_is_stored_as_an_argon2_hash(db):
    accounts.create_user("alice", "correct horse", "staff", "test")
    stored = User.get(User.username == "alice").password_hash
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert accounts.authenticate("alice", "correct horse", 5, 15).username == "alice"


def test_five_failures_make_the_next_attempt_wait_but_never_lock_the_account(db):
    accounts.create_user("bob", "correct horse", "staff", "test")
    for _ in range(5):
        with pytest.raises(Unauthorized, match="Wrong username or password"):
            accounts.authenticate("bob", "wrong", 5, 15, address="10.0.0.9", first_wait_seconds=30)
    with pytest.raises(Unauthorized) as refused:  # within the wait: refused unchecked, same answer
        accounts.authenticate("bob", "correct horse", 5, 15, address="10.0.0.9", first_wait_seconds=30)
    assert refused.value.message == ANSWER and "locked" not in ANSWER
    with later(31):
        assert accounts.authenticate("bob", "correct horse", 5, 15, address="10.0.0.9").username == "bob"


def test_the_wait_doubles_with_each_failure_up_to_the_cap(db):
    accounts.create_user("cid", "correct horse", "staff", "test")
    waits = []
    with ExitStack() as moved:
        for _ in range(7):
            with pytest.raises(Unauthorized):
                accounts.authenticate("cid", "wrong", 2, 1, address="10.0.0.7", first_wait_seconds=15,
                                      user_max_failures=100)
            row = throttle("address", "10.0.0.7")
            waits.append(row.wait_seconds)
            # the next attempt comes just after the wait is over
            moved.enter_context(later(row.wait_seconds + 0.01))
    assert waits == [0, 15, 30, 60, 60, 60, 60]  # 2 free, then 15 s doubling up to 1 minute


def test_a_success_forgets_the_user_names_failures(db):
    accounts.create_user("cy", "correct horse", "staff", "test")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            accounts.authenticate("cy", "wrong", 5, 15)
    accounts.authenticate("cy", "correct horse", 5, 15)
    assert throttle("pair", "cy|local").failures == 0
    assert throttle("address", "local").failures == 3  # the address keeps its failures (not the success)


def test_failures_are_forgotten_after_a_quiet_hour(db):
    accounts.create_user("flo", "correct horse", "staff", "test")
    for _ in range(4):
        with pytest.raises(Unauthorized):
            accounts.authenticate("flo", "wrong", 5, 15, address="10.0.0.3")
    with later(61 * 60):
        with pytest.raises(Unauthorized):
            accounts.authenticate("flo", "wrong", 5, 15, address="10.0.0.3")
        assert throttle("address", "10.0.0.3").failures == 1
        assert throttle("pair", "flo|10.0.0.3").failures == 1


def test_a_disabled_user_cannot_sign_in(db):
    accounts.create_user("dee", "correct horse", "staff", "test")
    accounts.set_active("dee", False, "test")
    with pytest.raises(Unauthorized, match="Wrong username or password"):
        accounts.authenticate("dee", "correct horse", 5, 15)


def test_every_failed_sign_in_is_audited_with_its_address_and_reason(db):
    accounts.create_user("gus", "correct horse", "staff", "test")
    limits = {"address": "10.0.0.4", "first_wait_seconds": 60}
    with pytest.raises(Unauthorized):
        accounts.authenticate("gus", "wrong", 1, 15, **limits)
    with pytest.raises(Unauthorized):
        accounts.authenticate("nobody", "wrong", 1, 15, **{**limits, "address": "10.0.0.8"})
    with pytest.raises(Unauthorized):
        accounts.authenticate("gus", "correct horse", 1, 15, **limits)
    events = list(AuditEvent.select().where(AuditEvent.action == "user.sign_in_failed").order_by(AuditEvent.id))
    assert [(e.entity_id, e.actor, json.loads(e.after)) for e in events] == [
        ("gus", "sign-in:10.0.0.4", {"address": "10.0.0.4", "reason": "wrong password"}),
        ("nobody", "sign-in:10.0.0.8", {"address": "10.0.0.8", "reason": "unknown user"}),
        ("gus", "sign-in:10.0.0.4", {"address": "10.0.0.4", "reason": "throttled"}),
    ]


def test_guessing_from_many_addresses_never_makes_the_till_wait(db):
    accounts.create_user("hal", "correct horse", "staff", "test")
    for n in range(8):
        for _ in range(2):  # the second attempt is refused unchecked: its pair waits
            with pytest.raises(Unauthorized):
                accounts.authenticate("hal", "wrong", 5, 15, address=f"10.9.0.{n}", user_max_failures=1,
                                      first_wait_seconds=60)
        assert throttle("pair", f"hal|10.9.0.{n}").wait_seconds == 60  # each guessing pair waits …
    # … the till's pair has no failures: it signs in at once
    assert accounts.authenticate("hal", "correct horse", 5, 15, address="10.0.0.5").username == "hal"
    assert not SignInThrottle.select().where(SignInThrottle.kind == "user").exists()


def test_a_user_name_failing_at_one_address_waits_there_with_growing_delays_and_not_elsewhere(db):
    accounts.create_user("jo", "correct horse", "staff", "test")
    limits = {"address": "10.0.0.6", "user_max_failures": 2, "first_wait_seconds": 4, "user_max_wait_seconds": 10}
    waits = []
    with ExitStack() as moved:
        for attempt in range(4):
            if attempt:  # the next attempt comes just after the wait is over
                moved.enter_context(later(waits[-1] + 0.01))
            with pytest.raises(Unauthorized):
                accounts.authenticate("jo", "wrong", 100, 15, **limits)
            waits.append(throttle("pair", "jo|10.0.0.6").wait_seconds)
        with pytest.raises(Unauthorized):  # right away: the pair still waits, even for the right password
            accounts.authenticate("jo", "correct horse", 100, 15, **limits)
        assert accounts.authenticate("jo", "correct horse", 100, 15, address="10.0.0.7").username == "jo"
        with later(11):
            assert accounts.authenticate("jo", "correct horse", 100, 15, **limits).username == "jo"
    assert waits == [0, 4, 8, 10]  # doubling, up to the cap


def test_a_new_password_set_by_an_admin_forgets_the_user_names_failures(db):
    accounts.create_user("ivy", "correct horse", "staff", "test")
    limits = {"address": "10.0.0.5", "user_max_failures": 2, "first_wait_seconds": 600}
    for _ in range(2):
        with pytest.raises(Unauthorized):
            accounts.authenticate("ivy", "wrong", 100, 15, **limits)
    assert throttle("pair", "ivy|10.0.0.5").wait_seconds == 600
    accounts.set_password("ivy", "battery staple", "admin")
    assert accounts.authenticate("ivy", "battery staple", 100, 15, **limits).username == "ivy"


def test_short_passwords_unknown_roles_and_duplicates_are_refused(db):
    with pytest.raises(Invalid):
        accounts.create_user("eve", "short", "staff", "test")
    with pytest.raises(Invalid):
        accounts.create_user("eve", "long enough pw", "owner", "test")
    accounts.create_user("eve", "long enough pw", "staff", "test")
    with pytest.raises(Conflict):
        accounts.create_user("EVE", "long enough pw", "staff", "test")


def test_a_token_is_shown_once_and_stored_only_as_a_hash(db):
    token, plaintext = accounts.create_token("till", "staff", "test")
    assert plaintext not in {token.token_hash, token.prefix}
    assert ApiToken.select().where(ApiToken.token_hash.contains(plaintext)).count() == 0
    assert accounts.token_for(plaintext).name == "till"
    accounts.revoke_token("till", "test")
    assert accounts.token_for(plaintext) is None


def test_a_token_records_its_last_use_at_most_once_a_minute(db):
    from datetime import timedelta
    from appliance.models import utcnow
    _, plaintext = accounts.create_token("till-2", "staff", "test")
    accounts.token_for(plaintext)
    first = ApiToken.get(ApiToken.name == "till-2").last_used_at
    assert first is not None
    accounts.token_for(plaintext)
    assert ApiToken.get(ApiToken.name == "till-2").last_used_at == first
    ApiToken.update(last_used_at=utcnow() - timedelta(minutes=2)).where(ApiToken.name == "till-2").execute()
    accounts.token_for(plaintext)
    assert ApiToken.get(ApiToken.name == "till-2").last_used_at > first - timedelta(seconds=1)
    assert utcnow() - ApiToken.get(ApiToken.name == "till-2").last_used_at < timedelta(seconds=5)
