"""Data shipped with the package: the 2022 study's default boundaries (SPEC §5 table)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DEFAULT_BOUNDARIES_FILE = Path(__file__).with_name("default_boundaries.json")


@lru_cache(maxsize=1)
def _default_boundaries() -> tuple[tuple[str, tuple[float, ...]], ...]:
    with open(DEFAULT_BOUNDARIES_FILE, encoding="utf-8") as handle:
        return tuple((key, tuple(bounds)) for key, bounds in json.load(handle).items())


def default_boundaries() -> dict[str, list[float]]:
    """A fresh copy of the default boundaries: metric -> [b0, b1, b2, b3] on the index scale."""
    return {key: list(bounds) for key, bounds in _default_boundaries()}
