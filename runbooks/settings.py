"""The `[runbooks]` section of appliance.toml: scheduled restore drills.

Owned by this package and registered by the composition root (cli/wiring.py `register_settings`)."""
from __future__ import annotations

from pydantic import Field

from appliance import config
from appliance.config import Section


class RunbookSettings(Section):
    drill_enabled: bool = Field(True, description="Run restore drills on `drill_schedule` (each into a sandbox: the live box and the shop's targets are not touched).")
    drill_schedule: str = Field("0 5 1 * *", description="Cron expression (UTC) for the scheduled drills: by default the 1st of every month at 05:00, so the drill_age check (warn after 35 days) stays green.")
    drill_runbook: str = Field("box-lost", description="The recovery runbook the scheduled drills run.")
    drill_targets: list[str] = Field(default_factory=list, description="Targets a scheduled drill restores from, one drill each, in turn; empty: every configured target.")


def register() -> None:
    """Makes `[runbooks]` a section of appliance.toml in this process (cli/wiring.py calls it)."""
    config.register_section("runbooks", RunbookSettings)
