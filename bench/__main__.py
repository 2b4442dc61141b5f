"""Runs the benchmarks: `python -m bench` (all), `python -m bench orders [monitors …] [-- args]`.

Every `bench/<name>_bench.py` is a benchmark; each runs in its own process (they start servers and
bind the global database), in name order, and prints its own figures. Arguments after `--` go to
every selected benchmark (e.g. `python -m bench orders -- --seconds 5`), and so do the options after
the names (`python -m bench soak --minutes 3`). `./dev bench` calls this.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.name[: -len("_bench.py")] for p in HERE.glob("*_bench.py"))


def main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    options_at = next((i for i, a in enumerate(argv) if a.startswith("-") and i > 0), None)
    if options_at is not None:  # `bench soak --minutes 3`: the options go to the benchmarks
        argv, extra = argv[:options_at], argv[options_at:] + extra
    if argv and argv[0] in ("-h", "--help", "list"):
        print(__doc__.strip())
        print("benchmarks: " + ", ".join(available()))
        return 0
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"== bench {name}", flush=True)
        code = subprocess.call([sys.executable, str(HERE / f"{name}_bench.py"), *extra], cwd=HERE.parent)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
