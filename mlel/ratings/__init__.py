"""Index, rating, boundaries, calibration, weights and compound rating of results (SPEC §5).

The per-result API (``index_value``, ``rating_from_index``, ``compound_rating``, …) and the
pipeline (``rate_entries``: entries -> :class:`~mlel.rated.RatedResult` records; ``rate_results``
and ``rate_runs``: the SPEC §7 dicts) all call the one vectorised engine, :mod:`mlel.engine`.
Nothing here reads files except the built-in property sets; callers pass records in and get
records out. ``python -m mlel.ratings`` runs ``mlel/ratings/__main__.py`` (the command line,
:mod:`mlel.cli`), so this module executes once, as ``mlel.ratings``.
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from mlel import engine
from mlel.engine import COMPOUND_MODES, DEFAULT_QUANTILES, NO_BOUNDARIES, RATINGS, real_boundaries
from mlel.logs import RunLog
from mlel.metrics import TASKS, compute_metrics, task_metrics
from mlel.properties import PropertySet, builtin_tasks, load_property_set
from mlel.rated import MetricRating, ModelResult, RatedResult

__all__ = ["RATINGS", "RATING_COLORS", "COMPOUND_MODES", "DEFAULT_MODE", "DEFAULT_REFERENCE",
           "DEFAULT_QUANTILES", "SCALES", "ModelResult", "RatedResult", "MetricRating", "RatingOptions",
           "aggregate_runs", "index_value", "rating_from_index", "real_boundaries", "calibrate_boundaries",
           "check_boundaries", "default_weights", "task_weights", "compound_rating", "rate_entries",
           "rate_results", "rate_runs"]

# The EU energy label's colours (SPEC §6), shared by labels, ELEx and the paper's figures.
RATING_COLORS = {"A": "#639B30", "B": "#B8AC2B", "C": "#F8B830", "D": "#EF7D29", "E": "#E52421"}
DEFAULT_MODE = "optimistic median"
DEFAULT_REFERENCE = "ResNet101"
SCALES = ("reference", "best")

Boundaries = Mapping[str, Sequence[float]]  # metric -> (b0, b1, b2, b3), descending, index scale
Weights = Mapping[str, float]  # metric -> non-negative weight


# ---------------------------------------------------------------------------------------------
# aggregation


def _mean(values: list[float | None]) -> tuple[float | None, float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return None, None
    mean = math.fsum(present) / len(present)
    return mean, (statistics.pstdev(present) if len(present) > 1 else None)


def _entry(task: str, environment: str, model: str, members: list[RunLog]) -> ModelResult:
    """One entry from the runs of one (task, environment, model): metric values averaged."""
    common = dict(dataset=members[0].dataset, backend=members[0].backend)
    if len(members) == 1:  # the common case: the mean of one value is the value, no spread
        run = members[0]
        dynamic = (run.energy_ws - run.baseline_energy_ws if run.energy_ws is not None
                   and run.baseline_energy_ws is not None else None)
        return ModelResult(task, environment, model, [run.file], compute_metrics(run), {},
                           sources=dict(run.sources), energy_ws=run.energy_ws, dynamic_energy_ws=dynamic,
                           gco2e=run.gco2e, **common)
    members.sort(key=lambda r: r.file)
    per_run = [compute_metrics(r) for r in members]
    values, spread = {}, {}
    for key in task_metrics(task):
        values[key], std = _mean([m[key] for m in per_run])
        if std is not None:
            spread[key] = std
    energy, _ = _mean([r.energy_ws for r in members])
    dynamic, _ = _mean([r.energy_ws - r.baseline_energy_ws if r.energy_ws is not None
                        and r.baseline_energy_ws is not None else None for r in members])
    gco2e, _ = _mean([r.gco2e for r in members])
    sources = {}
    for r in members:
        sources.update(r.sources)
    return ModelResult(task, environment, model, [r.file for r in members], values, spread,
                       sources=sources, energy_ws=energy, dynamic_energy_ws=dynamic, gco2e=gco2e, **common)


def aggregate_runs(runs: Iterable[RunLog]) -> list[ModelResult]:
    """Group runs by (task, environment, model), average metric values, and give training results
    the top-1/top-5 accuracy of the inference results of the same model and environment."""
    groups: dict[tuple[str, str, str], list[RunLog]] = defaultdict(list)
    for run in runs:
        groups[(run.task, run.environment, run.model)].append(run)
    results = [_entry(task, environment, model, members)
               for (task, environment, model), members in groups.items()]
    inference = {(r.environment, r.model): r for r in results if r.task == "inference"}
    for result in results:
        if result.task == "training":
            source = inference.get((result.environment, result.model))
            for key in ("top1_val", "top5_val"):
                result.values[key] = source.values.get(key) if source else None
    results.sort(key=lambda r: (TASKS.index(r.task) if r.task in TASKS else 9, r.environment, r.model))
    return results


# ---------------------------------------------------------------------------------------------
# the per-result API: one value, one rating, one compound — each a one-row call of the engine


def _missing(value: float | None) -> float:
    return math.nan if value is None else float(value)


def index_value(value: float | None, reference: float | None, higher_is_better: bool) -> float | None:
    """``v / r`` where higher is better, ``r / v`` where lower is better: > 1 beats the reference."""
    index = engine.index_matrix(np.array([[_missing(value)]]), np.array([_missing(reference)]),
                                np.array([higher_is_better]))[0, 0]
    return None if math.isnan(index) else float(index)


def rating_from_index(index: float | None, boundaries: Sequence[float]) -> str:
    """index > b0 → A; b0 ≥ index > b1 → B; … ; else E. Missing index → E."""
    level = engine.rating_levels(np.array([[_missing(index)]]), np.array([boundaries], dtype=float))
    return RATINGS[int(level[0, 0])]


def calibrate_boundaries(indices: Mapping[str, Iterable[float | None]],
                         quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict[str, list[float]]:
    """Boundaries b0..b3 per metric = the quantiles of its index values (missing ones ignored)."""
    calibrated = {}
    for key, values in indices.items():
        column = np.array([[_missing(v)] for v in values], dtype=float).reshape(-1, 1)
        bounds = engine.quantile_boundaries(column, quantiles)[0]
        if not np.isnan(bounds).any():
            calibrated[key] = bounds.tolist()
    return calibrated


def check_boundaries(boundaries: Boundaries) -> None:
    """Raise ValueError naming the metric unless every entry is four descending numbers."""
    for key, bounds in boundaries.items():
        if len(bounds) != 4 or not all(isinstance(b, (int, float)) for b in bounds):
            raise ValueError(f"boundaries of '{key}' must be four numbers b0 > b1 > b2 > b3, got {bounds!r}")
        if any(a < b for a, b in zip(bounds, bounds[1:])):
            raise ValueError(f"boundaries of '{key}' must descend (b0 ≥ b1 ≥ b2 ≥ b3), got {list(bounds)}")


def compound_rating(ratings: Mapping[str, str], weights: Mapping[str, float],
                    mode: str = DEFAULT_MODE) -> str:
    """Compound rating of one model from its metric ratings and weights (SPEC §5).

    Only metrics with weight > 0 count; weights are normalised over them.
    """
    keys = list(ratings)
    levels = np.array([[RATINGS.index(ratings[k]) for k in keys]], dtype=np.int64).reshape(1, len(keys))
    weight_vector = np.array([float(weights.get(k, 0.0)) for k in keys])
    return RATINGS[int(engine.compound_levels(levels, weight_vector, mode)[0])]


# ---------------------------------------------------------------------------------------------
# weights


def _property_set(task: str, property_sets: Mapping[str, PropertySet] | None = None) -> PropertySet:
    if property_sets and task in property_sets:
        return property_sets[task]
    return load_property_set(task)


def default_weights(task: str, property_sets: Mapping[str, PropertySet] | None = None) -> dict[str, float]:
    return _property_set(task, property_sets).default_weights()


def task_weights(weights: Mapping | None, task: str,
                 property_sets: Mapping[str, PropertySet] | None = None) -> dict[str, float]:
    """Weights for one task from ``None`` (defaults), ``{metric: w}`` or ``{task: {metric: w}}``.
    Metrics a flat mapping does not name keep their default weight."""
    result = default_weights(task, property_sets)
    if weights:
        tasks = set(TASKS) | set(builtin_tasks()) | set(property_sets or ())
        chosen = weights.get(task, {}) if any(t in weights for t in tasks) else weights
        for key, weight in chosen.items():
            if key in result:
                result[key] = float(weight)
    for key, weight in result.items():
        if not weight >= 0:
            raise ValueError(f"weight of '{key}' must be non-negative, got {weight}")
    return result


# ---------------------------------------------------------------------------------------------
# the whole pipeline, one task at a time, over arrays


@dataclass
class RatingOptions:
    reference: str = DEFAULT_REFERENCE
    scale: str = "reference"  # "reference": index against the reference model; "best": STREP
    boundaries: Boundaries | None = None  # None: the property set's defaults; calibrated on best
    calibrate: bool = False  # boundaries from quantiles of the rated models' indices
    quantiles: Sequence[float] = DEFAULT_QUANTILES
    weights: Mapping | None = None
    mode: str = DEFAULT_MODE
    property_sets: Mapping[str, PropertySet] | None = None  # task -> set; None: the built-in ones


def _scale_matrix(entries: list[ModelResult], values: np.ndarray, higher_is_better: np.ndarray,
                  options: RatingOptions, warnings: list[str]) -> np.ndarray:
    """(n, m): the value each entry's property is indexed against (NaN: no index)."""
    scale = np.full(values.shape, np.nan)
    by_env: dict[str, list[int]] = defaultdict(list)
    for row, entry in enumerate(entries):
        by_env[entry.environment].append(row)
    for environment, rows in by_env.items():
        if options.scale == "best":
            present = values[rows]
            with np.errstate(all="ignore"):
                best = np.where(higher_is_better, np.fmax.reduce(present, axis=0),
                                np.fmin.reduce(present, axis=0))
            scale[rows] = best
            continue
        reference = next((r for r in rows if entries[r].model == options.reference), None)
        if reference is None:
            warnings.append(f"reference model '{options.reference}' has no {entries[rows[0]].task} results "
                            f"in environment '{environment}': its {len(rows)} model(s) get no index "
                            f"(rated E); choose another --reference or --scale best")
        else:
            scale[rows] = values[reference]
    return scale


def _boundary_matrix(keys: Sequence[str], indices: np.ndarray, prop_set: PropertySet,
                     options: RatingOptions) -> np.ndarray:
    """(m, 4) boundaries: calibrated (``--calibrate`` or the best scale), else the property set's
    defaults with the given ones over them. A property without boundaries rates E."""
    if options.calibrate or (options.scale == "best" and options.boundaries is None):
        bounds = engine.quantile_boundaries(indices, options.quantiles)
        bounds[np.isnan(bounds).any(axis=1)] = NO_BOUNDARIES
        return bounds
    chosen = {**prop_set.default_boundaries(), **dict(options.boundaries or {})}
    return np.array([chosen.get(k, NO_BOUNDARIES) for k in keys], dtype=float).reshape(-1, 4)


def _rate_task(entries: list[ModelResult], prop_set: PropertySet, options: RatingOptions,
               warnings: list[str]) -> list[RatedResult]:
    keys = prop_set.keys
    higher_is_better = np.array([p.higher_is_better for p in prop_set.properties])
    values = np.array([[_missing(e.values.get(k)) for k in keys] for e in entries],
                      dtype=float).reshape(len(entries), len(keys))
    scale = _scale_matrix(entries, values, higher_is_better, options, warnings)
    indices = engine.index_matrix(values, scale, higher_is_better)
    bounds = _boundary_matrix(keys, indices, prop_set, options)
    levels = engine.rating_levels(indices, bounds)
    weights = task_weights(options.weights, prop_set.task, options.property_sets)
    compound = engine.compound_levels(levels, np.array([weights[k] for k in keys]), options.mode)
    reference = options.reference if options.scale == "reference" else "best"
    how = dict(mode=options.mode, weights=weights, boundaries=dict(zip(keys, bounds.tolist())))  # shared
    return [RatedResult.build(entry, keys, index_row, level_row, level, reference, **how)
            for entry, index_row, level_row, level in zip(entries, indices.tolist(), levels.tolist(),
                                                          compound.tolist())]


def rate_entries(results: Iterable[ModelResult], options: RatingOptions | None = None
                 ) -> tuple[list[RatedResult], list[str]]:
    """Index, rate and compound entries of any task by the task's property set.
    Returns (rated records in the entries' order, warnings)."""
    options = options or RatingOptions()
    if options.scale not in SCALES:
        raise ValueError(f"unknown scale '{options.scale}'; choose from: {', '.join(SCALES)}")
    engine.check_mode(options.mode)
    results = list(results)
    by_task: dict[str, list[int]] = defaultdict(list)
    for position, result in enumerate(results):
        by_task[result.task].append(position)
    rated: list[RatedResult | None] = [None] * len(results)
    warnings: list[str] = []
    for task, positions in by_task.items():
        records = _rate_task([results[p] for p in positions], _property_set(task, options.property_sets),
                             options, warnings)
        for position, record in zip(positions, records):
            rated[position] = record
    return rated, warnings


def rate_results(results: list[ModelResult], options: RatingOptions | None = None
                 ) -> tuple[list[dict], list[str]]:
    """Index and rate aggregated results. Returns (rated summaries per SPEC §7, warnings)."""
    rated, warnings = rate_entries(results, options)
    return [record.to_dict() for record in rated], warnings


def rate_runs(runs: Iterable[RunLog], options: RatingOptions | None = None) -> tuple[list[dict], list[str]]:
    """RunLog records -> (rated summaries, warnings): aggregate, index, rate, compound."""
    return rate_results(aggregate_runs(runs), options)
