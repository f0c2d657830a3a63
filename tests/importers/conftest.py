"""Fixtures of the importer tests: the ML.ENERGY leaderboard sample (read from ../shared, never copied)."""
from __future__ import annotations

from pathlib import Path

import pytest

LEADERBOARD = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "ml-energy-leaderboard"


@pytest.fixture(scope="session")
def leaderboard_dir() -> Path:
    if not (LEADERBOARD / "tasks").is_dir():
        pytest.fail(f"the ML.ENERGY leaderboard sample is missing: expected {LEADERBOARD}/tasks")
    return LEADERBOARD
