"""tests/servers/required.py: a test that needs a tool this machine lacks fails when CI=true, and
elsewhere is skipped with the tool named in the -ra list and in one line at the end of the summary.
Each case runs pytest in a subprocess on a tiny test file, with and without CI=true."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NEEDS_IN_A_TEST = '''
from tests.servers.required import need

def test_needs_it():
    need("no-such-tool", "the tiny test needs it")
'''
NEEDS_AT_IMPORT = '''
from tests.servers.required import tool_path

tool_path("no-such-tool", "the tiny test needs it")

def test_never_runs():
    pass
'''
CASES = {"in-a-test": NEEDS_IN_A_TEST, "at-import": NEEDS_AT_IMPORT}


def _pytest(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess:
    """pytest on one tiny test file per case (a pytest start-up each would cost seconds), with the
    suite's settings (pyproject addopts) and tests/conftest.py's hooks."""
    for name, source in CASES.items():
        (tmp_path / f"test_{name.replace('-', '_')}.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS")}
    if ci:
        env["CI"] = "true"
    env["PYTHONPATH"] = str(REPO)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # schemathesis' and hypothesis' plugins cost seconds to load
    return subprocess.run([sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml"), "--rootdir", str(REPO),
                           "-p", "tests.conftest", "-p", "no:cacheprovider", "-p", "no:xdist", "--continue-on-collection-errors", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_in_ci_a_missing_tool_fails_the_run_and_names_the_tool(tmp_path):
    run = _pytest(tmp_path, ci=True)

    assert run.returncode != 0, run.stdout
    for name in CASES:  # one failure (in a test) or error (at import) per case, each naming the tool
        line = next((x for x in run.stdout.splitlines() if f"test_{name.replace('-', '_')}.py" in x
                     and x.startswith(("FAILED ", "ERROR "))), "")
        assert "missing tool no-such-tool: the tiny test needs it" in line, run.stdout
    assert " skipped" not in run.stdout.splitlines()[-1], run.stdout


def test_elsewhere_a_missing_tool_is_a_skip_named_in_the_summary(tmp_path):
    run = _pytest(tmp_path, ci=False)

    assert run.returncode in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED), run.stdout + run.stderr
    skips = [x for x in run.stdout.splitlines() if x.startswith("SKIPPED")]  # -ra folds alike skips: [2]
    assert len(skips) == 1 and skips[0].startswith("SKIPPED [2]"), run.stdout
    assert "missing tool no-such-tool: the tiny test needs it" in skips[0], run.stdout
    summary = run.stdout.splitlines()[-2]  # just above "=== 2 skipped in 0.1s ==="
    assert summary.startswith("2 skipped because these tools are missing: no-such-tool (2)"), run.stdout
