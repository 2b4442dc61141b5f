"""A small, really full-able file system for tests: a tmpfs mounted in a temp dir (we run as root)."""
from __future__ import annotations

import subprocess
from contextlib import contextmanager
from pathlib import Path

from .required import need


@contextmanager
def mounted_tmpfs(path: Path, size: str):
    """Mounts a tmpfs of `size` (e.g. "1m") at `path` for the block; a test that cannot mount one (not root) needs the tmpfs "tool"."""
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if result.returncode != 0:
        need("tmpfs", f"cannot mount a tmpfs here (run as root): {result.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)
