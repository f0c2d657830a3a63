"""Rating schemes: the rating method as data (SPEC §10).

A scheme is one JSON file — the built-in ones in ``mlel/tasks/data/schemes/<name>.json``, a user's
with ``--scheme FILE`` — that declares how a task's entries get their levels::

    {"scheme": "strep", "title": "STREP", "scale": "best", "boundaries": "quantiles",
     "quantiles": [0.8, 0.6, 0.4, 0.2], "group_by": ["environment"], "boundaries_over": [],
     "min_group": 5, "fallback": "fixed", "levels": ["A", "B", "C", "D", "E"],
     "level_style": "letters", "missing": "not-rated", "mode": "optimistic median", "weights": {}}

- ``scale``: what a value is indexed against — ``reference`` (the reference model of its group; the
  best of the group where the task names no reference model), ``best`` (the best value of its group)
  or ``value`` (no index: the value itself);
- ``boundaries``: ``fixed`` (the property set's, on the index; on the best scale, where every index
  is ≤ 1 and the best is 1, ``best_boundaries`` for every property where the scheme gives them),
  ``quantiles`` of the group's indices
  or ``equal-width`` bins over the group's min–max; the last two need ``min_group`` models in the
  group, else ``fallback`` (``fixed``, or ``not-rated``) applies and the output says so;
- ``group_by``: what an entry is compared within, besides its task (``environment`` and configuration
  keys such as a size ``class``); ``boundaries_over``: the same for boundaries made from the group
  (empty: over the whole task);
- ``levels``: the level labels, best first (five); ``level_style``: ``letters`` or ``stars``;
- ``missing``: ``worst`` (the 2022 rule: no value, no reference → the worst level) or ``not-rated``
  (no letter without evidence: the metric, or the entry, is not rated and says why);
- ``mode`` and ``weights`` of the compound (weights over the property set's defaults).

How a scheme is applied is the ratings pipeline's job (:mod:`mlel.ratings.scheme`); this module holds
the record and its loader only.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from mlel.base.errors import InputError
from mlel.tasks.catalog import Catalog
from mlel.base.values import boundaries_problem

SCHEMES_DIR = Path(__file__).with_name("data") / "schemes"
DEFAULT_SCHEME = "mlee"
SCALE_KINDS = ("reference", "best", "value")
BOUNDARY_KINDS = ("fixed", "quantiles", "equal-width")
MISSING_POLICIES = ("worst", "not-rated")
FALLBACKS = ("fixed", "not-rated")
LEVEL_STYLES = ("letters", "stars")
N_LEVELS = 5


@dataclass(frozen=True)
class Scheme:
    """One rating method (see the module's docstring for each field)."""

    name: str
    title: str
    scale: str = "reference"
    boundaries: str = "fixed"
    description: str = ""
    quantiles: tuple[float, ...] = (0.8, 0.6, 0.4, 0.2)
    group_by: tuple[str, ...] = ("environment",)
    boundaries_over: tuple[str, ...] = ()
    min_group: int = 5
    fallback: str = "fixed"
    best_boundaries: tuple[float, ...] | None = None  # fixed boundaries on the best scale (index ≤ 1)
    levels: tuple[str, ...] = ("A", "B", "C", "D", "E")
    level_style: str = "letters"
    missing: str = "worst"
    mode: str = "optimistic median"
    weights: Mapping[str, float] = field(default_factory=dict)

    @property
    def honest(self) -> bool:
        """No letter without evidence: missing values and entries without comparison are not rated."""
        return self.missing == "not-rated"

    @property
    def derived_boundaries(self) -> bool:
        """Boundaries made from the group's values (quantiles or equal-width), not fixed."""
        return self.boundaries != "fixed"

    def level_label(self, level: int) -> str:
        return self.levels[level]

    def with_overrides(self, **changes) -> "Scheme":
        """A copy with some fields changed (the command line's ``--scale``, ``--calibrate``, ``--mode``)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **changes) if changes else self

    def to_dict(self) -> dict:
        return {"scheme": self.name, "title": self.title, "description": self.description,
                "scale": self.scale, "boundaries": self.boundaries, "quantiles": list(self.quantiles),
                "group_by": list(self.group_by), "boundaries_over": list(self.boundaries_over),
                "min_group": self.min_group, "fallback": self.fallback,
                "best_boundaries": self.best_boundaries and list(self.best_boundaries), "levels": list(self.levels),
                "level_style": self.level_style, "missing": self.missing, "mode": self.mode,
                "weights": dict(self.weights)}

    @classmethod
    def from_dict(cls, data: Mapping, where: str = "") -> "Scheme":
        if not isinstance(data, Mapping) or not isinstance(data.get("scheme"), str) or not data["scheme"]:
            raise InputError(f"{where}expected {{\"scheme\": NAME, \"scale\": ..., \"boundaries\": ..., ...}}")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise InputError(f"{where}unknown field(s) {', '.join(unknown)}; known: {', '.join(_FIELDS)}")
        values = {"name": data["scheme"], "title": str(data.get("title") or data["scheme"]),
                  "description": str(data.get("description") or "")}
        for key, choices in (("scale", SCALE_KINDS), ("boundaries", BOUNDARY_KINDS), ("missing", MISSING_POLICIES),
                             ("fallback", FALLBACKS), ("level_style", LEVEL_STYLES)):
            if key in data:
                if data[key] not in choices:
                    raise InputError(f"{where}'{key}' must be one of {', '.join(choices)}, got {data[key]!r:.40}")
                values[key] = data[key]
        if "quantiles" in data:
            values["quantiles"] = _quantiles(data["quantiles"], where)
        if data.get("best_boundaries") is not None:
            problem = boundaries_problem(data["best_boundaries"])
            if problem:
                raise InputError(f"{where}'best_boundaries': {problem}")
            values["best_boundaries"] = tuple(float(b) for b in data["best_boundaries"])
        for key in ("group_by", "boundaries_over"):
            if key in data:
                values[key] = _names(data[key], key, where)
        if "levels" in data:
            levels = data["levels"]
            if not isinstance(levels, list) or len(levels) != N_LEVELS or len(set(map(str, levels))) != N_LEVELS:
                raise InputError(f"{where}'levels' must be {N_LEVELS} distinct labels, best first")
            values["levels"] = tuple(str(level) for level in levels)
        if "min_group" in data:
            size = data["min_group"]
            if isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= 10_000:
                raise InputError(f"{where}'min_group' must be a whole number from 2 to 10000, got {size!r:.40}")
            values["min_group"] = size
        if "mode" in data:
            values["mode"] = str(data["mode"])  # checked by the engine, which owns the modes
        if "weights" in data:
            values["weights"] = _weights(data["weights"], where)
        return cls(**values)


_FIELDS = ("scheme", "title", "description", "scale", "boundaries", "quantiles", "group_by", "boundaries_over",
           "min_group", "fallback", "best_boundaries", "levels", "level_style", "missing", "mode", "weights")


def _quantiles(raw, where: str) -> tuple[float, ...]:
    if (not isinstance(raw, list) or len(raw) != N_LEVELS - 1
            or not all(isinstance(q, (int, float)) and not isinstance(q, bool) and 0 <= q <= 1 for q in raw)
            or any(a <= b for a, b in zip(raw, raw[1:]))):
        raise InputError(f"{where}'quantiles' must be {N_LEVELS - 1} descending numbers in [0, 1]")
    return tuple(float(q) for q in raw)


def _names(raw, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(name, str) and name for name in raw):
        raise InputError(f"{where}'{key}' must be a list of names (environment, or configuration keys)")
    return tuple(raw)


def _weights(raw, where: str) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}'weights' must map properties to weights")
    out = {}
    for key, weight in raw.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not (math.isfinite(weight)
                                                                                  and weight >= 0):
            raise InputError(f"{where}weight of '{key}' must be a finite, non-negative number, got {weight!r:.40}")
        out[str(key)] = float(weight)
    return out


_CATALOG = Catalog(SCHEMES_DIR, Scheme.from_dict, "scheme")


def builtin_schemes() -> dict[str, Scheme]:
    """Every built-in scheme (``tasks/data/schemes/*.json``), by name."""
    return _CATALOG.all()


def read_scheme(path: str | os.PathLike) -> Scheme:
    """A user's scheme file. Raises UsageError naming the file."""
    return _CATALOG.read_file(path)


def load_scheme(name_or_path: "str | os.PathLike | Scheme | None" = None) -> Scheme:
    """A built-in scheme by name (None: the default), a scheme file by path, or a Scheme as given."""
    if isinstance(name_or_path, Scheme):
        return name_or_path
    return _CATALOG.load(DEFAULT_SCHEME if name_or_path is None else name_or_path)
