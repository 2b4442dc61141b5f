"""What to do when a tool a test needs (a real server, a browser, a checker) is not installed.

In CI (CI=true) the test fails: a suite that skips what it cannot run would stay green while
testing nothing. Elsewhere it is skipped, and tests/conftest.py names every missing tool in the
summary, so a short run on a laptop still says what it did not test.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import pytest

# The start of every such skip's reason: tests/conftest.py counts skips by it.
MISSING_TOOL = "missing tool"
_REASON = re.compile(rf"{MISSING_TOOL} (\S+):")


def need(tool: str, why: str) -> NoReturn:
    """Stops the test (or the module, or every test of a fixture) that cannot run without `tool`."""
    message = f"{MISSING_TOOL} {tool}: {why}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


def tool_path(name: str, why: str, *places: str | Path) -> str:
    """The executable `name`: the first of `places` that exists, beside this Python (the venv's
    `-bin` wheels), or on PATH; else need(name, why)."""
    beside = Path(sys.executable).parent / name
    for candidate in (*places, beside):
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name) or need(name, why)


def module(name: str, why: str):
    """The Python module `name` (imported), else need(name, why)."""
    try:
        return __import__(name, fromlist=["_"])
    except ImportError:
        need(name, why)


def missing_tool_in(skip_reason: str) -> str | None:
    """The tool a skip was for, when need() made it."""
    found = _REASON.search(skip_reason)
    return found.group(1) if found else None
