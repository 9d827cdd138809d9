"""One small detected result shared by the export tests (simulate + detect once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage import detect, simulate


@pytest.fixture(scope="session")
def result_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A result directory of `linkage detect` on 300 simulated accounts (2 campaigns)."""
    root = tmp_path_factory.mktemp("export-result")
    simulate(root / "data", accounts=300, seed=3, scenario="default")
    detect(root / "data", root / "result")
    return root / "result"
