"""The database probe writes and reads back on SQLite and on PostgreSQL alike."""
from appliance.models import KeyValue
from monitors import engine
from monitors.models import CheckState
from tests.conftest import on_both_engines

from .monitor_helpers import override

database_url = on_both_engines()


def test_the_probe_is_ok_and_leaves_its_stamp(db, settings):
    override(settings, "db_probe", confirm_count=1)
    engine.run_check("db_probe", settings)
    engine.run_check("db_probe", settings)  # the second run replaces the first stamp
    assert CheckState.get(CheckState.check == "db_probe").state == "ok"
    assert KeyValue.select().where(KeyValue.key == "monitor_probe").count() == 1
