"""Benchmarks: run as scripts, e.g. ``.venv/bin/python bench/turn_latency.py``."""
