"""Shared fixtures: one simulated data set and its detection result per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage.detect import DetectionResult, detect
from linkage.simulate import simulate


@pytest.fixture(scope="session")
def detected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DetectionResult]:
    """``(root, result)``: the default scenario (seed 4) in ``root/data``, detected into
    ``root/result``. Read-only: tests that change files copy them first."""
    root = tmp_path_factory.mktemp("detected")
    simulate(root / "data", seed=4, scenario="default")
    return root, detect(root / "data", root / "result")
