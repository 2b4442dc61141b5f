"""`appliance drill report` (the same page as /reports/drills for managers): per runbook and target, how many drills
ran and met their targets, the latest RTO and RPO against the targets, a chart, the misses with
their reason, and each drill's evidence — an edited evidence file is shown as edited."""
from __future__ import annotations

import json

from click.testing import CliRunner

from appliance import config, operations
from cli import main
from tests.backup.helpers import local_target, write_targets


def _drill(home, target: str):
    return CliRunner().invoke(main, ["--home", str(home), "drill", "run", "box-lost", "--target", target, "--json"])


def test_a_met_drill_and_a_missed_one_are_reported_with_their_evidence(home, db, settings, tmp_path):
    write_targets(home, [local_target("disk", tmp_path / "disk")])
    live = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    operations.execute(live, "backup.run", actor=operations.SCHEDULER, source="schedule", show_progress=False)
    (tmp_path / "empty").mkdir()  # a target added after the backup: it holds none
    write_targets(home, [local_target("disk", tmp_path / "disk"), local_target("empty", tmp_path / "empty")])
    good = json.loads(_drill(home, "disk").output)
    assert _drill(home, "empty").exit_code == 1

    result = CliRunner().invoke(main, ["--home", str(home), "drill", "report", "--output", str(tmp_path / "r.html")])

    assert result.exit_code == 0, result.output
    assert "box-lost             disk         1 drill(s), 1 met" in result.output
    assert "box-lost             empty        1 drill(s), 0 met" in result.output
    page = (tmp_path / "r.html").read_text()
    assert "data-runbook='box-lost' data-target='disk'" in page and "id=misses" in page
    assert "the runbook restored nothing" in page and "EDITED" not in page
    assert good["drill_id"] in page

    evidence = home / "drills" / good["drill_id"] / "evidence.json"
    evidence.write_text(evidence.read_text().replace('"succeeded": true', '"succeeded": false'))
    assert "EDITED" in CliRunner().invoke(main, ["--home", str(home), "drill", "report", "--output",
                                                 str(tmp_path / "r2.html")]).output + (tmp_path / "r2.html").read_text()
