"""docs/settings.md lists every setting with its env variable and default, generated from the code."""
from pathlib import Path

from appliance import config

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_the_settings_reference_matches_the_code():
    assert DOCS.read_text() == config.reference_markdown(), \
        "docs/settings.md is out of date: run `appliance config docs > docs/settings.md`"


def test_every_setting_has_a_description():
    missing = [row["setting"] for row in config.reference() if not row["description"]]
    assert missing == []


def test_the_default_config_written_by_init_is_valid(tmp_path):
    (tmp_path / config.CONFIG_FILE).write_text(config.default_toml())
    assert config.load(tmp_path).recovery.rto_seconds == 900
