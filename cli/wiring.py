"""Which commands and which packages' settings, tables and jobs make up the appliance.

Each package adds its commands, settings section and models here, one line each.
"""
from __future__ import annotations


# Command name -> "module:attribute". Imported only when the command runs (or `--help` lists them):
# `appliance backup run` need not import gunicorn, openpyxl or the monitors (about 0.15 s).
COMMANDS = {
    "init": "cli.init_cmd:command",
    "serve": "cli.serve_cmd:command",
    "user": "cli.user_cmd:command",
    "token": "cli.token_cmd:command",
    "import": "cli.import_export_cmd:import_command",
    "export": "cli.import_export_cmd:export_command",
    "audit": "cli.audit_cmd:command",
    "config": "cli.config_cmd:command",
    "tls": "cli.tls_cmd:command",
    # Other packages' commands (backup, restore, monitors, runbook, drill, failover) go below.
    "monitors": "monitors.cli:command",
    "backup": "backup.cli:backup_group",
    "restore": "backup.cli:restore_command",
    "replication": "backup.cli:replication_group",
    "operations": "cli.operations_cmd:command",
    "runbook": "runbooks.cli:command",
    "drill": "cli.drill_cmd:command",
    "failover": "cli.failover_cmd:command",
}


def register_operations() -> None:
    """Each package registers its operations (appliance/operations.py) when its module is imported."""
    import sys

    from appliance import core_operations, operations  # noqa: F401
    import backup.operations  # noqa: F401
    import failover.operations  # noqa: F401
    import monitors.operations  # noqa: F401
    import runbooks.operations  # noqa: F401
    # Background runs start `appliance` again, as this same program (the core knows no package above).
    operations.launcher = [sys.executable, "-m", "cli"]


def register_panels() -> None:
    """The /ops page's panels (appliance/panels.py): each package registers its own when imported.

    `appliance serve` calls this before it makes the web app, and so does tests/conftest.py. The
    page shows them in this order, after the core's readiness panel.
    """
    import monitors.panel  # noqa: F401  (isort: skip - the order is the page's)
    import backup.panel  # noqa: F401
    import runbooks.panel  # noqa: F401
    import failover.panel  # noqa: F401


def register_settings() -> None:
    """Sections of appliance.toml owned by packages other than the core ([backup], [monitors], [runbooks]).

    Every process that loads the config calls this first, or their tables are refused as unknown:
    `appliance` does (cli.main; gunicorn's workers are forked from it), and so do scripts outside it
    (tests/conftest.py, bench/). The order writer's child process loads only the core's sections,
    leaving the others to the parent that validated them (appliance/order_writer.py `main`).
    """
    from backup.settings import register as register_backup; register_backup()  # noqa: E702
    from failover.settings import register as register_failover; register_failover()  # noqa: E702
    from monitors.settings import register as register_monitors; register_monitors()  # noqa: E702
    from runbooks.settings import register as register_runbooks; register_runbooks()  # noqa: E702


def extra_models() -> list:
    """Tables owned by packages other than the core (created by `migrate`)."""
    models: list = []
    from appliance.categories import MODELS as category_models; models += category_models  # noqa: E702
    from backup.models import MODELS as backup_models; models += backup_models  # noqa: E702
    from monitors.models import MODELS as monitor_models; models += monitor_models  # noqa: E702
    from monitors.webhooks import MODELS as webhook_models; models += webhook_models  # noqa: E702
    from runbooks.models import MODELS as runbook_models; models += runbook_models  # noqa: E702
    return models


def extra_steps() -> list:
    """Data migrations owned by packages other than the core (run by `migrate`, each idempotent)."""
    from backup.models import MIGRATIONS as backup_steps
    return list(backup_steps)


def configure_scheduler(scheduler, settings) -> None:
    """The box's scheduled jobs; other packages add theirs below, one line each."""
    from appliance.orders import forget_old_idempotency_keys, refresh_usual_quantities
    from appliance.scheduler import with_db, write_heartbeat
    scheduler.add_job(with_db(write_heartbeat), "interval", seconds=15, id="heartbeat", next_run_time=_now())
    scheduler.add_job(with_db(lambda: forget_old_idempotency_keys(settings)), "interval", hours=1, id="forget-idempotency-keys")
    scheduler.add_job(with_db(lambda: refresh_usual_quantities(settings)), "interval", hours=1,
                      id="refresh-usual-quantities", next_run_time=_now())
    from monitors.jobs import register as register_monitors; register_monitors(scheduler, settings)  # noqa: E702
    from backup.jobs import register as register_backup; register_backup(scheduler, settings)  # noqa: E702
    from runbooks.jobs import register as register_drills; register_drills(scheduler, settings)  # noqa: E702


def _now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)
