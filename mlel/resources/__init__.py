"""Data shipped with the package: the built-in property sets in ``tasks/*.json`` (SPEC §5, §9)."""
from __future__ import annotations


def default_boundaries() -> dict[str, list[float]]:
    """A fresh copy of the 2022 default boundaries of the merged-log metrics: metric -> [b0..b3]
    on the index scale, as the built-in inference and training property sets hold them."""
    from mlel.properties import load_property_set

    bounds: dict[str, list[float]] = {}
    for task in ("inference", "training"):
        for key, values in load_property_set(task).default_boundaries().items():
            bounds.setdefault(key, values)
    return bounds
