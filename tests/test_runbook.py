"""The daily runbook (README) and the Airflow example (docs/airflow_daily.py) only use
commands and options the CLI has."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from linkage.cli import app

ROOT = Path(__file__).resolve().parents[1]


def _runbook_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Daily runbook", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.strip().startswith("linkage ")]


def _dag_commands() -> list[str]:
    tree = ast.parse((ROOT / "docs" / "airflow_daily.py").read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "bash_command":
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "X"
                for part in (node.value.values if isinstance(node.value, ast.JoinedStr) else [])
            ) or ast.literal_eval(node.value)
            found += [c.strip() for c in text.split("&&") if c.strip().startswith("linkage ")]
    return found


COMMANDS = _runbook_commands() + _dag_commands()


def test_the_runbook_and_the_dag_have_the_daily_steps():
    joined = "\n".join(COMMANDS)
    for step in ("linkage detect", "--previous", "export banlist", "--since", "neo4j push"):
        assert step in joined
    assert "export stix" in joined


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_and_option_exists(command):
    words = shlex.split(re.sub(r"\$\(date \+%F\)|\{\{ ds \}\}", "DAY", command))[1:]
    sub = [
        w
        for w in words[:2]
        if not w.startswith("-") and w in {"detect", "export", "neo4j", "banlist", "stix", "push"}
    ]
    run = CliRunner().invoke(app, [*sub, "--help"], terminal_width=200)
    assert run.exit_code == 0, run.output
    for option in (w for w in words if w.startswith("--")):
        assert option in run.output, f"{command}: {option} is not an option of linkage {sub}"
