"""Which commands and which packages' tables make up the appliance.

Each package adds its commands and models here, one line each.
"""
from __future__ import annotations


def commands() -> list:
    from . import audit_cmd, config_cmd, init_cmd, serve_cmd, token_cmd, transfer_cmd, user_cmd
    found = [
        init_cmd.command, serve_cmd.command, user_cmd.command, token_cmd.command,
        transfer_cmd.import_command, transfer_cmd.export_command, audit_cmd.command, config_cmd.command,
    ]
    # Other packages' commands (backup, restore, monitors, runbook, drill, failover) go below.
    from monitors.cli import command as monitors_command; found.append(monitors_command)  # noqa: E702
    from backup.cli import COMMANDS as backup_commands; found += backup_commands  # noqa: E702
    return found


def extra_models() -> list:
    """Tables owned by packages other than the core (created by `migrate`)."""
    models: list = []
    from backup.models import MODELS as backup_models; models += backup_models  # noqa: E702
    from monitors.models import MODELS as monitor_models; models += monitor_models  # noqa: E702
    return models


def configure_scheduler(scheduler, settings) -> None:
    """The box's scheduled jobs; other packages add theirs below, one line each."""
    from ..orders import forget_old_idempotency_keys, refresh_usual_quantities
    from ..scheduler import with_db, write_heartbeat
    scheduler.add_job(with_db(write_heartbeat), "interval", seconds=15, id="heartbeat", next_run_time=_now())
    scheduler.add_job(with_db(lambda: forget_old_idempotency_keys(settings)), "interval", hours=1, id="forget-idempotency-keys")
    scheduler.add_job(with_db(lambda: refresh_usual_quantities(settings)), "interval", hours=1,
                      id="refresh-usual-quantities", next_run_time=_now())
    from monitors.jobs import register as register_monitors; register_monitors(scheduler, settings)  # noqa: E702
    from backup.jobs import register as register_backup; register_backup(scheduler, settings)  # noqa: E702


def _now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)
