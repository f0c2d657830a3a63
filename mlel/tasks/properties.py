"""Property sets: what a task rates, as data (SPEC §9).

A property set is one JSON file — the built-in ones in ``mlel/tasks/data/<task>.json``, a
user's with ``--properties FILE``::

    {"task": "inference", "display_name": "Image classification inference",
     "label_tiles": ["inference_power_draw", "inference_time", "top1_val", "parameters"],
     "properties": {"parameters": {"name": "Parameters", "unit": "M", "higher_is_better": false,
                                   "group": "Complexity", "weight": 1.0,
                                   "boundaries": [b0, b1, b2, b3]}, ...}}

``scheme`` names the task's default rating scheme (:mod:`mlel.tasks.schemes`; absent: the default)
and ``reference`` the model others are indexed against (absent: the best of each group).
``boundaries`` is optional per property (the default boundaries on the index scale); where it is
absent the caller gives or calibrates them. ``kind`` is optional too: where the property's values
can lie — ``"positive"`` (> 0: energy, time, power, counts; any unit but ``fraction``),
``"fraction"`` (in [0, 1]: the unit ``fraction``) or ``"signed"`` (any sign: a difference, a
temperature in °C); absent, the unit decides. How a property's value is computed from a merged log
is code (``mlel.runlog.metrics``); what it means and how it is rated is here.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Mapping

from mlel.base.formatting import NA
from mlel.base.values import boundaries_problem
from mlel.base.errors import InputError
from mlel.tasks.catalog import Catalog

TASKS_DIR = Path(__file__).with_name("data")
_PROPERTY_FIELDS = ("name", "unit", "higher_is_better", "group", "weight")
POSITIVE, FRACTION, SIGNED = "positive", "fraction", "signed"  # a property's kind: where its values lie
_SUPPORTS = {POSITIVE: (0.0, math.inf), FRACTION: (0.0, 1.0), SIGNED: None}  # kind -> support
_UNIT_KINDS = {"fraction": FRACTION}  # units that say their kind; any other unit: positive
TRUST_GROUP = "Trust"  # calibration and robustness (issue 28): shown beside energy, weight 0 by default
NOT_MEASURED = "not measured"  # what every view says of a trust property a run has no value for


@dataclass(frozen=True)
class Property:
    """One rated property of a task: how it reads and which direction is better."""

    key: str
    name: str
    unit: str
    higher_is_better: bool
    group: str
    weight: float  # default weight in the compound rating (0: shown, not compounded)
    boundaries: tuple[float, float, float, float] | None = None  # default b0..b3, index scale
    kind: str = ""  # POSITIVE | FRACTION | SIGNED; "" (not given): the unit's (:func:`unit_kind`)

    def __post_init__(self):
        if not self.kind:
            object.__setattr__(self, "kind", unit_kind(self.unit))
        elif self.kind not in _SUPPORTS:
            raise ValueError(f"property '{self.key}': kind must be one of {', '.join(_SUPPORTS)}, got {self.kind!r}")

    @property
    def missing_text(self) -> str:
        """What every view shows for a value this property does not have: "not measured" for a Trust
        property (a run without ``infer.py --trust``), else "n.a."."""
        return NOT_MEASURED if self.group == TRUST_GROUP else NA

    @property
    def support(self) -> tuple[float, float] | None:
        """Where the quantity's values can lie, by its kind: a positive one (0, ∞), a fraction
        [0, 1], a signed one anywhere (None). Its runs' interval is built on that scale (log, logit,
        plain: :mod:`mlel.ratings.intervals`), so it never reaches 0 or leaves [0, 1]."""
        return _SUPPORTS[self.kind]

    def to_dict(self) -> dict:
        out = {"name": self.name, "unit": self.unit, "higher_is_better": self.higher_is_better,
               "group": self.group, "weight": self.weight}
        if self.boundaries is not None:
            out["boundaries"] = list(self.boundaries)
        if self.kind != unit_kind(self.unit):
            out["kind"] = self.kind
        return out

    @classmethod
    def from_dict(cls, key: str, data: Mapping, where: str = "") -> "Property":
        if not isinstance(data, Mapping):
            raise InputError(f"{where}property '{key}' must be an object")
        missing = [f for f in _PROPERTY_FIELDS if f not in data]
        if missing:
            raise InputError(f"{where}property '{key}' lacks {', '.join(missing)}")
        weight = data["weight"]
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise InputError(f"{where}property '{key}': weight must be a non-negative number, got {weight!r}")
        if not isinstance(data["higher_is_better"], bool):
            raise InputError(f"{where}property '{key}': higher_is_better must be true or false")
        kind = data.get("kind", "")
        if kind != "" and not (isinstance(kind, str) and kind in _SUPPORTS):
            raise InputError(f"{where}property '{key}': kind must be one of {', '.join(_SUPPORTS)}, got {kind!r:.40}")
        return cls(key, str(data["name"]), str(data["unit"]), data["higher_is_better"],
                   str(data["group"]), float(weight), _boundaries(data.get("boundaries"), f"{where}{key}"), kind)


def unit_kind(unit: str) -> str:
    """The kind a unit implies: ``fraction`` a fraction, any other a positive quantity."""
    return _UNIT_KINDS.get(unit, POSITIVE)


def _boundaries(raw, where: str) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    problem = boundaries_problem(raw)  # the one rule of settings files, ELEx and property sets
    if problem is not None:
        raise InputError(f"{where}: {problem}")
    return tuple(float(b) for b in raw)


@dataclass(frozen=True)
class PropertySet:
    """The properties one task rates, in table order, and the four on its label's tiles."""

    task: str
    display_name: str
    properties: tuple[Property, ...]
    label_tiles: tuple[str, ...]
    scheme: str | None = None  # its default rating scheme (mlel.tasks.schemes); None: the default one
    reference: str | None = None  # the model others are indexed against; None: the best of the group

    @cached_property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.properties)

    def get(self, key: str) -> Property | None:
        return next((p for p in self.properties if p.key == key), None)

    def __getitem__(self, key: str) -> Property:
        found = self.get(key)
        if found is None:
            raise KeyError(f"task '{self.task}' has no property '{key}'")
        return found

    def group_keys(self, group: str) -> tuple[str, ...]:
        """The keys of one group, in table order (``TRUST_GROUP``: what the label's trust strip shows)."""
        return tuple(p.key for p in self.properties if p.group == group)

    def default_weights(self) -> dict[str, float]:
        return {p.key: p.weight for p in self.properties}

    def supports(self) -> dict[str, tuple[float, float]]:
        """Property -> where its values lie, for the bounded ones: every kind but signed (:attr:`Property.support`)."""
        return {p.key: p.support for p in self.properties if p.support is not None}

    def default_boundaries(self) -> dict[str, list[float]]:
        return {p.key: list(p.boundaries) for p in self.properties if p.boundaries is not None}

    def to_dict(self) -> dict:
        out = {"task": self.task, "display_name": self.display_name, "label_tiles": list(self.label_tiles),
               "properties": {p.key: p.to_dict() for p in self.properties}}
        out.update((key, value) for key, value in (("scheme", self.scheme), ("reference", self.reference)) if value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping, where: str = "") -> "PropertySet":
        if not isinstance(data, Mapping) or not isinstance(data.get("task"), str) \
                or not isinstance(data.get("properties"), Mapping) or not data["properties"]:
            raise InputError(f"{where}expected {{\"task\": ..., \"properties\": {{key: {{...}}}}, ...}}")
        properties = tuple(Property.from_dict(k, v, where) for k, v in data["properties"].items())
        keys = {p.key for p in properties}
        tiles = tuple(data.get("label_tiles") or ())
        unknown = [t for t in tiles if t not in keys]
        if unknown:
            raise InputError(f"{where}label_tiles name unknown properties: {', '.join(map(str, unknown))}")
        for key in ("scheme", "reference"):
            if data.get(key) is not None and not (isinstance(data[key], str) and data[key]):
                raise InputError(f"{where}'{key}' must be a name, got {data[key]!r:.40}")
        return cls(data["task"], str(data.get("display_name") or data["task"]), properties, tiles,
                   data.get("scheme"), data.get("reference"))


_CATALOG = Catalog(TASKS_DIR, PropertySet.from_dict, "task")


def read_property_set(path: str | os.PathLike) -> PropertySet:
    """A property-set file (a user's ``--properties FILE``). Raises UsageError naming the file."""
    return _CATALOG.read_file(path)


def builtin_tasks() -> dict[str, PropertySet]:
    """Every built-in property set (``tasks/data/*.json``), by task name."""
    return _CATALOG.all()


def load_property_set(task_or_path: str | os.PathLike) -> PropertySet:
    """A built-in task by name (``"inference"``), or a property-set file by path."""
    return _CATALOG.load(task_or_path)
