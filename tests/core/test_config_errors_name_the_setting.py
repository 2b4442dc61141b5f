"""A wrong or missing setting stops start-up with one sentence naming it."""
import pytest

from appliance import config


def _load(home, text: str, environ=None):
    (home / config.CONFIG_FILE).write_text(text)
    return config.load(home, environ=environ or {})


def test_a_wrong_type_names_the_setting_and_the_value(home):
    with pytest.raises(config.ConfigError) as e:
        _load(home, "[recovery]\nrto_seconds = 'soon'\n")
    assert str(e.value).startswith("Setting recovery.rto_seconds:")
    assert "'soon'" in str(e.value)
    assert "\n" not in str(e.value)


def test_an_unknown_setting_is_refused_not_ignored(home):
    with pytest.raises(config.ConfigError, match=r"^Unknown setting recovery\.rto_secs"):
        _load(home, "[recovery]\nrto_secs = 10\n")


def test_a_value_out_of_range_is_refused(home):
    with pytest.raises(config.ConfigError, match=r"server\.port"):
        _load(home, "[server]\nport = 70000\n")


def test_broken_toml_is_reported_with_the_file(home):
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        _load(home, "[server\nport = 1\n")


def test_a_missing_config_file_says_how_to_create_it(tmp_path):
    with pytest.raises(config.ConfigError, match="appliance init"):
        config.load(tmp_path)


def test_environment_variables_override_the_file(home):
    settings = _load(home, "[server]\nport = 8080\n", {"APPLIANCE_SERVER_PORT": "9090",
                                                       "APPLIANCE_DATABASE_URL": "sqlite:///other.db"})
    assert settings.server.port == 9090
    assert settings.database.url == "sqlite:///other.db"


def test_a_bad_environment_override_names_the_setting(home):
    with pytest.raises(config.ConfigError, match=r"^Setting server\.port"):
        _load(home, "", {"APPLIANCE_SERVER_PORT": "eighty"})


def test_relative_paths_are_relative_to_the_home(home):
    settings = _load(home, "")
    assert settings.path(settings.backup.key_file) == home / "keys" / "backup.key"


def test_list_settings_have_no_environment_override(home):
    settings = _load(home, "", {"APPLIANCE_MONITORS_WEBHOOK_URLS": "http://127.0.0.1:1/hook",
                                "APPLIANCE_SERVER_PORT": "9091"})
    assert settings.server.port == 9091
    documented = {row["setting"]: row["env"] for row in config.reference()}
    assert documented["server.port"] == "APPLIANCE_SERVER_PORT"
    assert all(env == "-" for setting, env in documented.items() if setting.startswith("backup.targets"))
