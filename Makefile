.PHONY: demo test lint bench

demo:
	python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/linkage demo

test:
	python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/python -m pytest

lint:
	.venv/bin/ruff check linkage tests benchmarks && .venv/bin/ruff format --check linkage tests benchmarks && .venv/bin/mypy linkage

bench:
	.venv/bin/python benchmarks/bench_foundations.py
