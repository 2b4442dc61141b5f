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
    return found


def extra_models() -> list:
    """Tables owned by packages other than the core (created by `migrate`)."""
    models: list = []
    # e.g. from backup.models import MODELS as backup_models; models += backup_models
    return models
