"""Loads the runbook library (runbooks/library/*.yaml) and says, in one sentence naming the file,
the step and the field, what is wrong with a file that does not hold a valid runbook.

`lint` goes further, against this box: every operation a step names is registered, its parameters
exist and parse, check/verify steps use read-only probes, and targets a step names are configured.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from appliance import operations
from appliance.config import Settings
from appliance.errors import AppError

from .model import Runbook, Step

LIBRARY = Path(__file__).parent / "library"


class RunbookInvalid(AppError):
    status = 422


def load_file(path: Path) -> Runbook:
    where = _shown(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RunbookInvalid(f"{where} is not valid YAML: {' '.join(str(e).split())}.") from None
    if not isinstance(data, dict):
        raise RunbookInvalid(f"{where} does not hold a runbook (a mapping with id, title, steps).")
    try:
        runbook = Runbook.model_validate(data)
    except ValidationError as e:
        raise RunbookInvalid(_one_sentence(where, data, e)) from None
    if runbook.id != path.stem:
        raise RunbookInvalid(f"{where}: id {runbook.id!r} must match the file name ({path.stem}).")
    for number, step in enumerate(runbook.all_steps(), 1):
        _check_operation(where, number, step)
    return runbook


@functools.lru_cache(maxsize=4)
def _load_folder(folder: Path, stamp: tuple) -> dict[str, Runbook]:
    return {path.stem: load_file(path) for path in sorted(folder.glob("*.yaml"))}


def load_library(folder: Path | None = None) -> dict[str, Runbook]:
    """Every runbook of the folder (default: the library) by id (cached until a file changes)."""
    folder = folder or LIBRARY
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))
    return _load_folder(folder, stamp)


def lint(settings: Settings, folder: Path | None = None) -> list[str]:
    """Problems of the library on this box, one sentence each (empty: all good)."""
    folder = folder or LIBRARY
    problems = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            runbook = load_file(path)
        except RunbookInvalid as e:
            problems.append(e.message)
            continue
        targets = {t.name for t in settings.backup.targets}
        for number, step in enumerate(runbook.all_steps(), 1):
            target = step.params.get("target")
            if isinstance(target, str) and "$" not in target and target not in targets:
                problems.append(f"{_shown(path)}, step {number} ({step.id}): target {target!r} is not configured "
                                f"on this box (targets: {', '.join(sorted(targets)) or 'none'}).")
        for param in runbook.params:
            if param.name == "target" and param.default and param.default not in targets:
                problems.append(f"{_shown(path)}: parameter target defaults to {param.default!r}, "
                                f"which is not configured on this box.")
    return problems


def _check_operation(where: str, number: int, step: Step) -> None:
    if step.operation is None:
        return
    prefix = f"{where}, step {number} ({step.id}), field operation"
    try:
        operation = operations.get(step.operation)
    except AppError:
        raise RunbookInvalid(f"{prefix}: there is no operation {step.operation!r}.") from None
    if step.kind in ("check", "verify") and not operation.read_only:
        raise RunbookInvalid(f"{prefix}: a {step.kind} step needs a read-only probe; {step.operation} changes things "
                             f"(use an action step).")
    values = {k: (_placeholder(operation, k) if isinstance(v, str) and "$" in v else v) for k, v in step.params.items()}
    try:
        operation.parse(values)
    except AppError as e:
        raise RunbookInvalid(f"{where}, step {number} ({step.id}), field params: {e.message}") from None


def _placeholder(operation, name: str):
    """A value of the right type for a `${param}` filled at run time, so its name is still checked."""
    for p in operation.params:
        if p.name == name:
            return {int: "1", float: "1", bool: "true"}.get(p.kind, "x") if not p.choices else p.choices[0]
    return "x"


def _one_sentence(where: str, data: dict, error: ValidationError) -> str:
    first = error.errors()[0]
    loc = list(first["loc"])
    place = where
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = data.get("steps") or []
        step = steps[loc[1]] if loc[1] < len(steps) and isinstance(steps[loc[1]], dict) else {}
        place += f", step {loc[1] + 1}" + (f" ({step['id']})" if step.get("id") else "")
        loc = loc[2:]
    field = ".".join(str(part) for part in loc) or "(the step itself)"
    message = re.sub(r"^Value error, ", "", first["msg"]).rstrip(".")
    if first["type"] == "missing":
        message = "is missing"
    elif first["type"] == "extra_forbidden":
        message = "is not a runbook field"
    return f"{place}, field {field}: {message}."


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
