"""Everywhere a password is set (user add, passwd, init --admin-password-stdin, the admin's reset, the
change-password page) a common password or one containing the user name is refused with one sentence,
and nothing changes."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from appliance import accounts, passwords
from appliance.errors import Invalid
from appliance.models import User
from cli import main


@pytest.mark.parametrize("password", ["password123", "P@ssw0rd2024!", "Welcome123", "qwerty12345", "1234567890",
                                      "qwertyuiop", "Summer2024!!", "aaaaaaaaaa", "0987654321", "letmein!!!!"])
def test_common_passwords_are_refused(password):
    refused = passwords.problem(password, "carol")
    assert refused and refused.endswith(".") and refused.count(". ") == 0


@pytest.mark.parametrize("password", ["carol-the-manager", "CAROL2024shop", "my c4r0l password"])
def test_a_password_containing_the_user_name_is_refused(password):
    assert passwords.problem(password, "carol") == "Password must not contain the user name."


@pytest.mark.parametrize("password", ["quiet harbour lamp 42", "counter-pass-123", "8472910365", "blue tram oven"])
def test_ordinary_long_passwords_pass(password):
    assert passwords.problem(password, "carol") is None


def test_the_account_functions_refuse_them_and_change_nothing(db, password_hash_of_carol):
    with pytest.raises(Invalid, match="common"):
        accounts.create_user("dave", "password1234", "staff", "test")
    assert not User.select().where(User.username == "dave").exists()
    before = User.get(User.username == "carol").password_hash
    with pytest.raises(Invalid, match="user name"):
        accounts.set_password("carol", "carol-is-back-1", "admin")
    assert User.get(User.username == "carol").password_hash == before


@pytest.fixture
def password_hash_of_carol(db):
    return accounts.create_user("carol", "quiet harbour lamp 42", "manager", "test")


def _run(home, *args, input=None):
    return CliRunner().invoke(main, ["--home", str(home), *args], input=input)


def test_the_command_line_refuses_them_with_one_sentence(tmp_path):
    home = tmp_path / "home"
    result = _run(home, "init", "--admin-user", "boss", "--admin-password-stdin", input="the boss of the shop\n")
    assert result.exit_code != 0
    assert "Password must not contain the user name." in result.output and "Traceback" not in result.output
    assert _run(home, "init", "--admin-user", "boss", "--admin-password-stdin", input="quiet harbour lamp 42\n").exit_code == 0
    added = _run(home, "user", "add", "erin", "--role", "staff", "--password-stdin", input="iloveyou123\n")
    assert added.exit_code != 0 and "most common passwords" in added.output
    reset = _run(home, "user", "passwd", "boss", "--password-stdin", input="Password2025!\n")
    assert reset.exit_code != 0 and "most common passwords" in reset.output
