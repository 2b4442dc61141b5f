"""Runbooks written by the tests into a library folder of their own (the real library is tested on
its own), and the runner's printed lines."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runbooks import loader


def step(step_id: str, kind: str, **fields) -> str:
    lines = [f"  - id: {step_id}", f"    kind: {kind}", f"    title: {fields.pop('title', step_id)}",
             f"    timeout_seconds: {fields.pop('timeout_seconds', 30)}",
             f"    expected_seconds: {fields.pop('expected_seconds', 1)}"]
    for name, value in fields.items():
        lines.append(f"    {name}: {value}")
    return "\n".join(lines)


def runbook_text(runbook_id: str, *steps: str, params: str = "", budget: int = 600) -> str:
    head = textwrap.dedent(f"""\
        id: {runbook_id}
        title: Test runbook {runbook_id}
        when:
          symptoms: [a test needs it]
        roles: [admin]
        rto_budget_seconds: {budget}
        """)
    return head + (params + "\n" if params else "") + "steps:\n" + "\n".join(steps) + "\n"


@pytest.fixture
def library(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "library"
    folder.mkdir()
    monkeypatch.setattr(loader, "LIBRARY", folder)
    return folder


def write(library: Path, runbook_id: str, *steps: str, **kwargs) -> Path:
    path = library / f"{runbook_id}.yaml"
    path.write_text(runbook_text(runbook_id, *steps, **kwargs))
    return path
