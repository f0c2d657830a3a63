"""ELEx data and state: the read-only rated data all sessions share, and pure per-session transitions.

Two kinds of state, kept apart on purpose:

* :class:`ElexData` — the results loaded at start-up, as one :class:`TaskTable` of numpy arrays per
  task. It is built once, its arrays are frozen (``writeable=False``), and every session reads it.
* *settings* — reference model, compound mode, boundaries and weights of one browser session. They
  are a plain JSON dict that lives in the browser (``dcc.Store``); every function here takes the
  settings in and returns new settings, never mutating anything shared.

Re-rating is cheap because an index does not depend on boundaries or weights: :func:`rate` divides
the value matrix by the reference row of each environment (one numpy op), then compares it with the
boundaries and compounds the ratings over arrays. It gives the same ratings as
:func:`mlel.ratings.rate_results` (see tests/elex/test_state.py).
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from mlel.logs import RunLog, load_logs
from mlel.metrics import LABEL_METRICS, METRICS, TASKS, task_metrics
from mlel.ratings import (COMPOUND_MODES, DEFAULT_MODE, DEFAULT_QUANTILES, DEFAULT_REFERENCE, RATINGS,
                          ModelResult, aggregate_runs, calibrate_boundaries, default_weights)
from mlel.resources import default_boundaries
from mlel.settings import SettingsError, parse_boundaries, parse_weights

MAX_UPLOAD_BYTES = 64 * 1024  # a boundaries or weights file is a few hundred bytes
_EXACT = 1e-9  # the rating core's tolerance for "exactly" 0.5 and for rounding means


# ---------------------------------------------------------------------------------------------
# the shared, read-only data


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class TaskTable:
    """All rated (environment, model) rows of one task as arrays; row order is fixed for good."""

    task: str
    metrics: tuple[str, ...]  # column order of ``values``
    environments: tuple[str, ...]  # sorted; ``env_code`` indexes into it
    models: tuple[str, ...]  # model name per row
    env_code: np.ndarray  # (n,) int
    values: np.ndarray  # (n, m) float, NaN = missing
    higher_is_better: np.ndarray  # (m,) bool
    results: tuple[ModelResult, ...]  # per row: logs, dataset, energy … for summaries and labels
    rows: Mapping[tuple[str, str], int]  # (environment, model) -> row

    def __len__(self) -> int:
        return len(self.models)

    @property
    def model_names(self) -> list[str]:
        return sorted(set(self.models))

    def row(self, environment: str, model: str) -> int | None:
        return self.rows.get((environment, model))

    def column(self, metric: str) -> int:
        return self.metrics.index(metric)


def _table(task: str, results: Sequence[ModelResult]) -> TaskTable:
    metrics = task_metrics(task)
    environments = tuple(sorted({r.environment for r in results}))
    env_index = {env: i for i, env in enumerate(environments)}
    values = np.array([[np.nan if r.values.get(k) is None else r.values[k] for k in metrics]
                       for r in results], dtype=float).reshape(len(results), len(metrics))
    return TaskTable(
        task=task, metrics=metrics, environments=environments,
        models=tuple(r.model for r in results),
        env_code=_frozen(np.array([env_index[r.environment] for r in results], dtype=np.int64)),
        values=_frozen(values),
        higher_is_better=_frozen(np.array([METRICS[k].higher_is_better for k in metrics])),
        results=tuple(results),
        rows={(r.environment, r.model): i for i, r in enumerate(results)})


def _result_from_summary(summary: Mapping) -> ModelResult:
    """A rated summary (SPEC §7) back to the aggregated values it was rated from."""
    energy = summary.get("energy") or {}
    return ModelResult(
        task=summary["task"], environment=summary["environment"], model=summary["model"],
        logs=list(summary.get("logs") or []),
        values={k: m.get("value") for k, m in (summary.get("metrics") or {}).items()},
        spread=dict(summary.get("spread") or {}), dataset=summary.get("dataset", ""),
        backend=summary.get("backend", ""), sources=dict(energy.get("sources") or {}),
        energy_ws=energy.get("total_ws"), dynamic_energy_ws=energy.get("dynamic_ws"),
        gco2e=energy.get("gco2e"))


@dataclass(frozen=True)
class ElexData:
    """What ELEx serves: one table per task, the directory the logs came from, what was skipped."""

    tables: Mapping[str, TaskTable]
    directory: Path | None = None
    problems: tuple[str, ...] = ()
    n_logs: int = 0

    @property
    def tasks(self) -> list[str]:
        return [t for t in TASKS if t in self.tables and len(self.tables[t])]

    def table(self, task: str) -> TaskTable:
        if task not in self.tables:
            raise KeyError(f"no {task} results")
        return self.tables[task]

    @classmethod
    def from_results(cls, results: Iterable[ModelResult], directory: Path | None = None,
                     problems: Sequence[str] = (), n_logs: int = 0) -> "ElexData":
        by_task: dict[str, list[ModelResult]] = {t: [] for t in TASKS}
        for result in results:
            by_task.setdefault(result.task, []).append(result)
        tables = {task: _table(task, sorted(rs, key=lambda r: (r.environment, r.model)))
                  for task, rs in by_task.items() if rs and task in TASKS}
        return cls(tables, directory, tuple(problems), n_logs)

    @classmethod
    def load(cls, source) -> "ElexData":
        """From a directory of merged logs, or a list of RunLog records, aggregated ModelResults
        or rated summaries (SPEC §7 dicts)."""
        if isinstance(source, (str, os.PathLike)):
            runs, problems = load_logs(source)
            return cls.from_results(aggregate_runs(runs), Path(source), [str(p) for p in problems],
                                    len(runs))
        items = list(source)
        if all(isinstance(i, RunLog) for i in items):
            return cls.from_results(aggregate_runs(items), n_logs=len(items))
        if all(isinstance(i, ModelResult) for i in items):
            return cls.from_results(items, n_logs=sum(len(i.logs) for i in items))
        if all(isinstance(i, Mapping) for i in items):
            results = [_result_from_summary(i) for i in items]
            return cls.from_results(results, n_logs=sum(len(r.logs) for r in results))
        raise TypeError("ELEx needs a directory of merged logs, RunLog records, ModelResults "
                        "or rated summaries")


# ---------------------------------------------------------------------------------------------
# per-session settings (a JSON dict in dcc.Store)


def default_settings(data: ElexData | None = None) -> dict:
    """Reference, mode, and per-task boundaries and weights: the SPEC §5 defaults."""
    defaults = default_boundaries()
    reference = DEFAULT_REFERENCE
    if data is not None and data.tasks:
        models = data.table(data.tasks[0]).model_names
        if reference not in models and models:
            reference = models[0]
    return {
        "reference": reference,
        "mode": DEFAULT_MODE,
        "boundaries": {t: {k: list(defaults[k]) for k in task_metrics(t) if k in defaults} for t in TASKS},
        "weights": {t: default_weights(t) for t in TASKS},
    }


def clean_settings(raw, data: ElexData | None = None) -> dict:
    """Settings as the browser sent them -> valid settings. A store is client data: anything odd
    falls back to the default for that part instead of raising in a callback."""
    settings = default_settings(data)
    if not isinstance(raw, Mapping):
        return settings
    if isinstance(raw.get("reference"), str):
        settings["reference"] = raw["reference"]
    if raw.get("mode") in COMPOUND_MODES:
        settings["mode"] = raw["mode"]
    for task in TASKS:
        bounds = (raw.get("boundaries") or {}).get(task) if isinstance(raw.get("boundaries"), Mapping) else None
        if isinstance(bounds, Mapping):
            try:
                settings["boundaries"][task].update(
                    {k: b for k, b in parse_boundaries(dict(bounds)).items() if k in task_metrics(task)})
            except SettingsError:
                pass
        weights = (raw.get("weights") or {}).get(task) if isinstance(raw.get("weights"), Mapping) else None
        if isinstance(weights, Mapping):
            try:
                merged = {**settings["weights"][task], **{k: float(w) for k, w in parse_weights(
                    dict(weights)).items() if k in task_metrics(task)}}
            except (SettingsError, TypeError, ValueError):
                continue
            if any(w > 0 for w in merged.values()):
                settings["weights"][task] = merged
    return settings


def set_reference(settings: dict, reference: str) -> dict:
    return {**settings, "reference": reference}


def set_mode(settings: dict, mode: str) -> dict:
    if mode not in COMPOUND_MODES:
        raise ValueError(f"unknown compound mode '{mode}'")
    return {**settings, "mode": mode}


def set_boundaries(settings: dict, task: str, metric: str, bounds: Sequence[float]) -> dict:
    """New settings with one metric's boundaries replaced (validated: four, descending)."""
    checked = parse_boundaries({metric: list(bounds)})[metric]
    boundaries = {**settings["boundaries"], task: {**settings["boundaries"][task], metric: checked}}
    return {**settings, "boundaries": boundaries}


def set_weight(settings: dict, task: str, metric: str, weight: float) -> dict:
    """New settings with one weight changed. At least one weight of a task must stay > 0."""
    if weight is None or not weight >= 0:
        raise ValueError("a weight must be a non-negative number")
    weights = {**settings["weights"][task], metric: float(weight)}
    if not any(w > 0 for w in weights.values()):
        raise ValueError("at least one metric needs a weight > 0")
    return {**settings, "weights": {**settings["weights"], task: weights}}


def calibrate(settings: dict, data: ElexData, task: str,
              quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict:
    """Boundaries of every metric of ``task`` = quantiles of its indices over all rated models."""
    table = data.table(task)
    indices = index_matrix(table, settings["reference"])
    per_metric = {k: [None if math.isnan(v) else float(v) for v in indices[:, j]]
                  for j, k in enumerate(table.metrics)}
    calibrated = calibrate_boundaries(per_metric, quantiles)
    bounds = {**settings["boundaries"][task], **calibrated}
    return {**settings, "boundaries": {**settings["boundaries"], task: bounds}}


def reset(settings: dict, data: ElexData | None = None) -> dict:
    """Back to the defaults; keeps the chosen reference and mode."""
    return {**default_settings(data), "reference": settings["reference"], "mode": settings["mode"]}


# ---------------------------------------------------------------------------------------------
# uploads and downloads of boundaries / weights (the files `python -m mlel.ratings` reads)


def decode_upload(contents: str | None, filename: str | None) -> object:
    """A dcc.Upload data URL -> parsed JSON. Raises SettingsError with a message for the user."""
    if not contents:
        raise SettingsError("no file received")
    if filename and not filename.lower().endswith(".json"):
        raise SettingsError(f"{filename}: only .json files are accepted")
    header, _, payload = contents.partition(",")
    if not header.startswith("data:") or ";base64" not in header:
        raise SettingsError(f"{filename or 'upload'}: not a file upload")
    if len(payload) > MAX_UPLOAD_BYTES * 4 // 3 + 4:
        raise SettingsError(f"{filename or 'upload'}: larger than {MAX_UPLOAD_BYTES // 1024} KiB")
    try:
        raw = base64.b64decode(payload, validate=True)
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError):
        raise SettingsError(f"{filename or 'upload'}: not a UTF-8 text file") from None
    except json.JSONDecodeError as error:
        raise SettingsError(f"{filename or 'upload'}: not valid JSON ({error})") from None


def apply_boundaries_upload(settings: dict, content) -> dict:
    """``{metric: [b0..b3]}`` (applies to every task with that metric, as the CLI does) or
    ``{task: {metric: [b0..b3]}}``. All or nothing: a bad entry raises and changes nothing."""
    if isinstance(content, Mapping) and content and set(content) <= set(TASKS):
        per_task = {task: parse_boundaries(content[task], f"boundaries of {task}") for task in content}
    else:
        flat = parse_boundaries(content)
        per_task = {task: flat for task in TASKS}
    boundaries = {task: {**settings["boundaries"][task],
                         **{k: b for k, b in per_task.get(task, {}).items() if k in task_metrics(task)}}
                  for task in TASKS}
    return {**settings, "boundaries": boundaries}


def apply_weights_upload(settings: dict, content) -> dict:
    """``{metric: w}`` (every task) or ``{task: {metric: w}}``: named weights replaced, others kept."""
    checked = parse_weights(content)
    per_task = checked if any(t in checked for t in TASKS) else {t: checked for t in TASKS}
    weights = {}
    for task in TASKS:
        merged = {**settings["weights"][task],
                  **{k: float(w) for k, w in per_task.get(task, {}).items() if k in task_metrics(task)}}
        if not any(w > 0 for w in merged.values()):
            raise SettingsError(f"weights: no {task} metric would keep a weight > 0")
        weights[task] = merged
    return {**settings, "weights": weights}


def boundaries_file(settings: dict) -> dict:
    """Boundaries as a download, per task (``--boundaries`` takes one task's part)."""
    return {task: settings["boundaries"][task] for task in TASKS}


def weights_file(settings: dict) -> dict:
    return {task: settings["weights"][task] for task in TASKS}


# ---------------------------------------------------------------------------------------------
# vectorised index, rating and compound rating


def index_matrix(table: TaskTable, reference: str) -> np.ndarray:
    """(n, m) indices against ``reference`` in each row's environment; NaN where there is none.

    Costs one division over the value matrix (≈ 1 ms for 10,000 rows), so it is recomputed rather
    than cached: no cache means nothing shared to lock or to grow."""
    ref_rows = np.array([table.rows.get((env, reference), -1) for env in table.environments],
                        dtype=np.int64)
    per_row = ref_rows[table.env_code] if len(table) else np.zeros(0, dtype=np.int64)
    reference_values = table.values[per_row]
    reference_values[per_row < 0] = np.nan
    numerator = np.where(table.higher_is_better, table.values, reference_values)
    denominator = np.where(table.higher_is_better, reference_values, table.values)
    with np.errstate(divide="ignore", invalid="ignore"):
        indices = numerator / denominator
    indices[denominator == 0] = np.nan  # the core's index_value: division by zero -> no index
    return indices


def boundary_matrix(table: TaskTable, boundaries: Mapping[str, Sequence[float]]) -> np.ndarray:
    """(m, 4) boundaries in column order; a metric without boundaries rates E (as the core does)."""
    return np.array([boundaries.get(k, (math.inf,) * 4) for k in table.metrics], dtype=float).reshape(-1, 4)


def rating_levels(indices: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Levels 0 (A) … 4 (E): the number of boundaries the index does not exceed; missing -> E."""
    levels = (indices[:, :, None] <= bounds[None, :, :]).sum(axis=2)
    levels[np.isnan(indices)] = 4
    return levels.astype(np.int8)


def compound_levels(levels: np.ndarray, weights: np.ndarray, mode: str) -> np.ndarray:
    """Compound rating per row (SPEC §5) from (n, m) levels and (m,) weights — the array form of
    :func:`mlel.ratings.compound_rating`, same rounding and tolerances."""
    if mode not in COMPOUND_MODES:
        raise ValueError(f"unknown compound mode '{mode}'")
    weights = np.where(weights > 0, weights, 0.0)
    total = math.fsum(weights)
    if total <= 0:
        raise ValueError("no metric has a weight > 0: nothing to compound")
    n = levels.shape[0]
    share = np.zeros((n, len(RATINGS)))
    for j in np.flatnonzero(weights):  # metric order, as the core accumulates
        share[np.arange(n), levels[:, j]] += weights[j]
    share /= total
    present = share > 0
    ranks = np.arange(len(RATINGS))
    if mode == "best":
        return np.argmax(present, axis=1).astype(np.int8)
    if mode == "worst":
        return (len(RATINGS) - 1 - np.argmax(present[:, ::-1], axis=1)).astype(np.int8)
    if mode == "majority":  # argmax takes the first maximum: ties go to the better rating
        return np.argmax(share, axis=1).astype(np.int8)
    if mode.endswith("mean"):
        mean = share @ ranks
        rounded = np.floor(mean + _EXACT) if mode.startswith("optimistic") else np.ceil(mean - _EXACT)
        return np.clip(rounded, 0, len(RATINGS) - 1).astype(np.int8)
    cumulative = np.cumsum(share, axis=1)
    first = np.argmax(cumulative >= 0.5 - _EXACT, axis=1)
    at_first = cumulative[np.arange(n), first]
    later = present & (ranks[None, :] > first[:, None])
    has_next = later.any(axis=1)
    following = np.argmax(later, axis=1)
    exact = (np.abs(at_first - 0.5) <= _EXACT) & has_next
    middle = (first + following) / 2
    middle = np.floor(middle) if mode.startswith("optimistic") else np.ceil(middle)
    return np.where(exact, middle, first).astype(np.int8)


@dataclass(frozen=True)
class Rating:
    """One session's view of one task: indices, metric ratings and compound rating per row."""

    table: TaskTable
    indices: np.ndarray  # (n, m)
    levels: np.ndarray  # (n, m) 0..4
    compound: np.ndarray  # (n,) 0..4
    boundaries: Mapping[str, Sequence[float]]
    weights: Mapping[str, float]
    reference: str
    mode: str

    def letter(self, row: int) -> str:
        return RATINGS[int(self.compound[row])]


def rate(data: ElexData, task: str, settings: dict) -> Rating:
    """Index, rate and compound every row of ``task`` under one session's settings."""
    table = data.table(task)
    boundaries = settings["boundaries"][task]
    weights = settings["weights"][task]
    indices = index_matrix(table, settings["reference"])
    levels = rating_levels(indices, boundary_matrix(table, boundaries))
    weight_vector = np.array([float(weights.get(k, 0.0)) for k in table.metrics])
    compound = compound_levels(levels, weight_vector, settings["mode"])
    return Rating(table, indices, levels, compound, boundaries, weights, settings["reference"],
                  settings["mode"])


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def summary(rating: Rating, row: int) -> dict:
    """The rated summary (SPEC §7 plus the extras labels read) of one row under these settings."""
    table, result = rating.table, rating.table.results[row]
    metrics = {k: {"value": _number(table.values[row, j]), "index": _number(rating.indices[row, j]),
                   "rating": RATINGS[int(rating.levels[row, j])]}
               for j, k in enumerate(table.metrics)}
    return {
        "task": table.task, "environment": result.environment, "model": result.model,
        "logs": list(result.logs), "metrics": metrics, "compound": rating.letter(row),
        "dataset": result.dataset, "backend": result.backend, "reference": rating.reference,
        "energy": {"total_ws": result.energy_ws, "dynamic_ws": result.dynamic_energy_ws,
                   "sources": dict(result.sources), "estimated": result.estimated,
                   "gco2e": result.gco2e},
        "spread": dict(result.spread),
        "mode": rating.mode, "weights": dict(rating.weights),
        "boundaries": {k: list(b) for k, b in rating.boundaries.items()},
    }


def rating_counts(rating: Rating, rows: np.ndarray | None = None) -> dict[str, list[int]]:
    """Per environment: how many rows got each compound rating A..E."""
    table = rating.table
    rows = np.arange(len(table)) if rows is None else rows
    counts = np.zeros((len(table.environments), len(RATINGS)), dtype=np.int64)
    np.add.at(counts, (table.env_code[rows], rating.compound[rows]), 1)
    return {env: counts[i].tolist() for i, env in enumerate(table.environments)}


# ---------------------------------------------------------------------------------------------
# boundary sliders: a log10 index scale (indices are ratios: 0.9 and 19 both need room)


@dataclass(frozen=True)
class SliderSpec:
    min: float
    max: float
    step: float
    value: list[float]  # ascending log10 of b3, b2, b1, b0, clipped to [min, max]
    marks: dict


_NICE = (1, 2, 5)


def slider_spec(rating: Rating, metric: str) -> SliderSpec:
    """Range, marks and handle positions of the boundary slider of ``metric``."""
    bounds = list(rating.boundaries.get(metric, (1.0, 1.0, 1.0, 1.0)))
    column = rating.indices[:, rating.table.column(metric)]
    finite = column[np.isfinite(column) & (column > 0)]
    positive = [b for b in bounds if b > 0 and math.isfinite(b)] or [1.0]
    spread = [float(np.quantile(finite, 0.01)), float(np.quantile(finite, 0.99))] if finite.size else []
    low, high = min(positive + spread), max(positive + spread)
    lo, hi = math.log10(low) - 0.05, math.log10(high) + 0.05
    step = 10 ** math.floor(math.log10(max(hi - lo, 1e-6) / 400))
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    value = [min(max(math.log10(b), lo) if b > 0 else lo, hi) for b in reversed(bounds)]
    return SliderSpec(lo, hi, step, value, slider_marks(lo, hi))


def slider_marks(lo: float, hi: float) -> dict:
    """Readable index values as marks on a log10 slider: linear ticks inside one decade, else
    1-2-5 per decade (or only the powers of ten when that gets crowded)."""
    marks = {}
    if hi - lo < 1.0:
        low, high = 10 ** lo, 10 ** hi
        raw = (high - low) / 5
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(n * magnitude for n in (1, 2, 5, 10) if n * magnitude >= raw)
        tick = math.ceil(low / step) * step
        while tick <= high:
            if tick > 0:
                marks[round(math.log10(tick), 6)] = f"{tick:.6g}"
            tick = round(tick + step, 12)
        return marks
    for exponent in range(math.floor(lo) - 1, math.ceil(hi) + 1):
        for nice in _NICE:
            position = math.log10(nice) + exponent
            if lo <= position <= hi:
                marks[round(position, 6)] = f"{nice * 10.0 ** exponent:g}"
    if len(marks) > 9:
        marks = {p: t for p, t in marks.items() if t.lstrip("0.").startswith("1")}
    return marks


def bounds_from_slider(value: Sequence[float], current: Sequence[float], spec: SliderSpec) -> list[float]:
    """Slider handles (ascending log10) -> boundaries b0..b3. A handle that did not move keeps its
    exact boundary, so dragging one handle never nudges the other three by rounding."""
    current_positions = spec.value[::-1]  # b0..b3
    new_positions = sorted(value, reverse=True)
    result = []
    for bound, old, new in zip(current, current_positions, new_positions):
        result.append(bound if abs(new - old) < spec.step / 2 else float(10 ** new))
    for i in range(1, 4):  # handles may meet, never cross: keep b0 >= b1 >= b2 >= b3
        result[i] = min(result[i], result[i - 1])
    return result


def label_metrics(task: str) -> tuple[str, ...]:
    return LABEL_METRICS[task]
