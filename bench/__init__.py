"""Benchmarks: `python -m bench` runs every bench/<name>_bench.py (see bench/__main__.py)."""
