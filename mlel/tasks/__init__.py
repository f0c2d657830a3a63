"""Tasks as data: a task is a property set (what it rates, SPEC §9), one JSON file; the built-in
ones are ``data/*.json``, read and checked by :mod:`mlel.tasks.properties`."""
from __future__ import annotations

from mlel.tasks.properties import Property, PropertySet, load_property_set, read_property_set


def default_boundaries() -> dict[str, list[float]]:
    """A fresh copy of the 2022 default boundaries of the merged-log metrics: metric -> [b0..b3]
    on the index scale, as the built-in inference and training property sets hold them."""
    bounds: dict[str, list[float]] = {}
    for task in ("inference", "training"):
        for key, values in load_property_set(task).default_boundaries().items():
            bounds.setdefault(key, values)
    return bounds


__all__ = ["Property", "PropertySet", "default_boundaries", "load_property_set", "read_property_set"]
