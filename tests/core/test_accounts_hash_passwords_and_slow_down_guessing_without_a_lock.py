"""Passwords are argon2 hashes; repeated failures lock an account; tokens are stored hashed."""
import pytest

from appliance import accounts
from appliance.errors import Conflict, Invalid, Unauthorized
from appliance.models import ApiToken, User


def test_a_password_is_stored_as_an_argon2_hash(db):
    accounts.create_user("alice", "correct horse", "staff", "test")
    stored = User.get(User.username == "alice").password_hash
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert accounts.authenticate("alice", "correct horse", 5, 15).username == "alice"


def test_five_failures_lock_the_account_even_for_the_right_password(db):
    accounts.create_user("bob", "correct horse", "staff", "test")
    for _ in range(4):
        with pytest.raises(Unauthorized, match="Wrong username or password"):
            accounts.authenticate("bob", "wrong", 5, 15)
    with pytest.raises(Unauthorized, match="locked"):
        accounts.authenticate("bob", "wrong", 5, 15)
    with pytest.raises(Unauthorized, match="locked"):
        accounts.authenticate("bob", "correct horse", 5, 15)


def test_a_success_resets_the_failure_count(db):
    accounts.create_user("cy", "correct horse", "staff", "test")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            accounts.authenticate("cy", "wrong", 5, 15)
    accounts.authenticate("cy", "correct horse", 5, 15)
    assert User.get(User.username == "cy").failed_logins == 0


def test_a_disabled_user_cannot_sign_in(db):
    accounts.create_user("dee", "correct horse", "staff", "test")
    accounts.set_active("dee", False, "test")
    with pytest.raises(Unauthorized):
        accounts.authenticate("dee", "correct horse", 5, 15)


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
