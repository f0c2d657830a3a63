"""Boundaries and weights files (JSON): read, validate, write. Errors name the file and field."""
from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Iterable

from mlel.base.errors import UsageError
from mlel.base.io import read_json
from mlel.base.values import as_float, boundaries_problem
from mlel.runlog.metrics import METRICS, TASKS
from mlel.tasks.properties import PropertySet, builtin_tasks

# Weights are normalised, so their scale carries nothing; a cap keeps sums finite (1e308 + 1e308).
MAX_WEIGHT = 1e6


class SettingsError(UsageError, ValueError):
    """A boundaries or weights file that cannot be used (a bad input the user named: exit 2); the
    message names file and field. Still a ValueError for callers that catch those."""


def _read_json(path: str | os.PathLike, what: str):
    try:
        return read_json(path)
    except OSError as error:
        raise SettingsError(f"{what} file {path}: {error.strerror or error}") from None
    except ValueError as error:  # json's and orjson's decode errors are ValueErrors
        raise SettingsError(f"{what} file {path}: not valid JSON ({error})") from None


def _at(source: str, key: str) -> str:
    """Where a bad value is: ``bounds.json: 'inference.top1_val'`` (no file: the key alone)."""
    return f"{source}: {key!r}" if source else repr(key)


def check_bounds(bounds, key: str, source: str = "") -> list[float]:
    """One metric's boundaries b0..b3 as floats (the rule: :func:`boundaries_problem`); else a
    SettingsError naming ``source`` (a file) and ``key``. The CLIs and ELEx all check here."""
    problem = boundaries_problem(bounds)
    if problem:
        raise SettingsError(f"{_at(source, key)}: {problem}")
    return [float(b) for b in bounds]


def check_weight(weight, key: str, source: str = "") -> float:
    """One weight as a float: finite, from 0 to MAX_WEIGHT; else a SettingsError naming ``source``
    and ``key``."""
    value = as_float(weight)
    if value is None or not (math.isfinite(value) and 0 <= value <= MAX_WEIGHT):
        raise SettingsError(f"{_at(source, key)}: weight must be a finite, non-negative number up to "
                            f"{MAX_WEIGHT:g}, got {weight!r:.40}")
    return value


def known_properties(extra: Iterable[PropertySet] = ()) -> tuple[list[str], list[str]]:
    """(tasks, property keys) a settings file may name: the merged logs' metrics, every built-in
    task's properties (imported results) and those of the property sets given."""
    sets = list(builtin_tasks().values()) + list(extra)
    tasks = list(dict.fromkeys([*TASKS, *(s.task for s in sets)]))
    keys = list(dict.fromkeys([*METRICS, *(k for s in sets for k in s.keys)]))
    return tasks, keys


def parse_boundaries(data, source: str = "boundaries", extra: Iterable[PropertySet] = ()) -> dict[str, list[float]]:
    """``{metric: [b0, b1, b2, b3]}`` -> validated copy. Unknown metrics are an error; the
    properties of any known task (and of ``extra`` sets) are metrics here."""
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: expected an object {{metric: [b0, b1, b2, b3]}}")
    _, known = known_properties(extra)
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SettingsError(f"{source}: unknown metric(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return {key: check_bounds(bounds, key, source) for key, bounds in data.items()}


def parse_weights(data, source: str = "weights", extra: Iterable[PropertySet] = ()) -> dict:
    """``{metric: w}`` or ``{task: {metric: w}}`` with weights :func:`check_weight` takes -> validated copy.
    Tasks and metrics: those of :func:`known_properties`."""
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: expected an object {{metric: weight}} or {{task: {{metric: weight}}}}")
    tasks, known = known_properties(extra)
    per_task = any(key in tasks for key in data)
    groups = data.items() if per_task else [("", data)]
    for task, weights in groups:
        where = f"{task}." if task else ""
        if task and task not in tasks:
            raise SettingsError(f"{source}: unknown task '{task}'; known: {', '.join(tasks)}")
        if not isinstance(weights, dict):
            raise SettingsError(f"{source}: '{task}' must map metrics to weights")
        for key, weight in weights.items():
            if key not in known:
                raise SettingsError(f"{source}: unknown metric '{where}{key}'; known: {', '.join(known)}")
            check_weight(weight, f"{where}{key}", source)
    return copy.deepcopy(data)


def load_boundaries(path: str | os.PathLike, extra: Iterable[PropertySet] = ()) -> dict[str, list[float]]:
    return parse_boundaries(_read_json(path, "boundaries"), Path(path).name, extra)


def load_weights(path: str | os.PathLike, extra: Iterable[PropertySet] = ()) -> dict:
    return parse_weights(_read_json(path, "weights"), Path(path).name, extra)

