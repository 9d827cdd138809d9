.PHONY: demo test lint bench

demo:
	python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/linkage demo

test:
	bash scripts/setup-dev.sh && .venv/bin/python -m pytest

lint:
	.venv/bin/ruff check linkage api tests benchmarks && .venv/bin/ruff format --check linkage api tests benchmarks && .venv/bin/mypy linkage api

bench:
	.venv/bin/python benchmarks/bench_foundations.py
