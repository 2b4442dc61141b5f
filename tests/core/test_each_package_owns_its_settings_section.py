"""A package above the core owns its section of appliance.toml: it registers it, and the core
validates, overrides and documents it like its own, without importing the package."""
import subprocess
import sys

import pytest
from pydantic import Field

from appliance import config
from appliance.config import Section
from backup.settings import BackupSettings
from monitors.settings import MonitorSettings


class LoyaltySettings(Section):
    points_per_euro: int = Field(1, ge=0, description="Loyalty points a customer earns per euro spent.")
    card_prefix: str = Field("LOY-", description="Prefix of loyalty card numbers.")


@pytest.fixture
def loyalty_registered(monkeypatch):
    """A package's section, registered for this test only (the registry is restored afterwards)."""
    monkeypatch.setattr(config, "SECTIONS", dict(config.SECTIONS))
    config.register_section("loyalty", LoyaltySettings, default_toml=lambda: "[loyalty]\npoints_per_euro = 2\n")


def _load(home, text: str, environ=None):
    (home / config.CONFIG_FILE).write_text(text)
    return config.load(home, environ=environ or {})


def test_a_registered_section_is_a_typed_attribute_of_the_settings(home, loyalty_registered):
    settings = _load(home, "[loyalty]\npoints_per_euro = 3\n")
    assert isinstance(settings.loyalty, LoyaltySettings)
    assert settings.loyalty.points_per_euro == 3
    assert isinstance(settings, config.Settings)


def test_a_wrong_value_in_a_registered_section_is_one_sentence_naming_the_setting(home, loyalty_registered):
    with pytest.raises(config.ConfigError) as e:
        _load(home, "[loyalty]\npoints_per_euro = -1\n")
    assert str(e.value).startswith("Setting loyalty.points_per_euro:")
    assert "-1" in str(e.value) and "\n" not in str(e.value)


def test_an_unknown_setting_in_a_registered_section_is_refused(home, loyalty_registered):
    with pytest.raises(config.ConfigError, match=r"^Unknown setting loyalty\.points_per_dollar"):
        _load(home, "[loyalty]\npoints_per_dollar = 1\n")


def test_a_registered_section_is_overridden_by_its_environment_variable(home, loyalty_registered):
    settings = _load(home, "[loyalty]\npoints_per_euro = 3\n", {"APPLIANCE_LOYALTY_POINTS_PER_EURO": "5"})
    assert settings.loyalty.points_per_euro == 5


def test_a_registered_section_is_in_the_reference_and_the_default_file(tmp_path, loyalty_registered):
    rows = {row["setting"]: row for row in config.reference()}
    assert rows["loyalty.points_per_euro"]["env"] == "APPLIANCE_LOYALTY_POINTS_PER_EURO"
    assert rows["loyalty.points_per_euro"]["default"] == "1"
    assert "| `loyalty.card_prefix` | `APPLIANCE_LOYALTY_CARD_PREFIX` | `\"LOY-\"` |" in config.reference_markdown()
    (tmp_path / config.CONFIG_FILE).write_text(config.default_toml())
    assert config.load(tmp_path).loyalty.points_per_euro == 2


def test_a_section_nobody_registered_is_refused_as_unknown(home):
    with pytest.raises(config.ConfigError, match=r"^Unknown setting loyalty:"):
        _load(home, "[loyalty]\npoints_per_euro = 3\n")


def test_a_section_has_one_owner(loyalty_registered):
    config.register_section("loyalty", LoyaltySettings)  # its owner again: allowed
    with pytest.raises(ValueError, match="already registered"):
        config.register_section("loyalty", BackupSettings)
    with pytest.raises(ValueError, match="section of the core"):
        config.register_section("server", LoyaltySettings)


def test_backup_and_monitors_own_their_sections(home):
    settings = _load(home, "[backup]\nzstd_level = 3\n[monitors]\nreminder_minutes = 30\n")
    assert isinstance(settings.backup, BackupSettings) and settings.backup.zstd_level == 3
    assert isinstance(settings.monitors, MonitorSettings) and settings.monitors.reminder_minutes == 30
    with pytest.raises(config.ConfigError, match=r"^Setting backup\.zstd_level:"):
        _load(home, "[backup]\nzstd_level = 99\n")


def test_a_child_of_a_validated_parent_may_leave_other_sections_to_their_owners(home):
    """The order writer's child: the core's sections only, whatever the packages' tables hold."""
    (home / config.CONFIG_FILE).write_text("[server]\nport = 9000\n[backup]\nzstd_level = 3\n")
    code = ("import sys; from pathlib import Path; from appliance import config; "
            "s = config.load(Path(sys.argv[1]), environ={}, unregistered_sections='leave'); "
            "assert s.server.port == 9000 and not hasattr(s, 'backup'); "
            "assert not any(m.split('.')[0] in ('backup', 'monitors') for m in sys.modules), 'core imported a package'; "
            "config.load(Path(sys.argv[1]), environ={})")
    done = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True, text=True)
    assert "Unknown setting backup:" in done.stderr  # without `leave`, a process that knows no [backup] refuses it
    assert "core imported a package" not in done.stderr
