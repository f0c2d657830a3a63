"""Index, rating, boundaries, calibration, weights and compound rating of results (SPEC §5).

The per-result API (``index_value``, ``rating_from_index``, ``compound_rating``, …) and the
pipeline (``rate_entries``: entries -> :class:`~mlel.ratings.rated.RatedResult` records; ``rate_results``
and ``rate_runs``: the SPEC §7 dicts) all call the one vectorised engine, :mod:`mlel.ratings.engine`.
Nothing here reads files except the built-in property sets; callers pass records in and get
records out. ``python -m mlel.ratings`` runs ``mlel/ratings/__main__.py`` (the command line,
:mod:`mlel.ratings.cli`), so this module executes once, as ``mlel.ratings``.
"""
from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from mlel.ratings import engine
from mlel.ratings.engine import COMPOUND_MODES, DEFAULT_QUANTILES, NO_BOUNDARIES, RATINGS, real_boundaries
from mlel.runlog.logs import RunLog
from mlel.runlog.metrics import TASKS
from mlel.tasks.properties import PropertySet, builtin_tasks, load_property_set
from mlel.ratings.rated import MetricRating, ModelResult, RatedResult
from mlel.ratings.gates import DEFAULT_GATES, Gates, gate_reason
from mlel.ratings.odds import NO_REFERENCE, task_odds, with_odds
from mlel.ratings.pooling import aggregate_runs

__all__ = ["RATINGS", "RATING_COLORS", "COMPOUND_MODES", "DEFAULT_MODE", "DEFAULT_REFERENCE",
           "DEFAULT_QUANTILES", "SCALES", "ModelResult", "RatedResult", "MetricRating", "RatingOptions",
           "Gates", "DEFAULT_GATES", "gate_reason", "aggregate_runs", "index_value", "rating_from_index", "real_boundaries", "calibrate_boundaries",
           "default_weights", "task_weights", "compound_rating", "rate_entries",
           "rate_results", "rate_runs", "reference_rows", "scale_matrix", "value_matrix",
           "calibrated_boundaries", "NO_REFERENCE"]

# The EU energy label's colours (SPEC §6), shared by labels, ELEx and the paper's figures.
RATING_COLORS = {"A": "#639B30", "B": "#B8AC2B", "C": "#F8B830", "D": "#EF7D29", "E": "#E52421"}
DEFAULT_MODE = "optimistic median"
DEFAULT_REFERENCE = "ResNet101"
SCALES = ("reference", "best")

Boundaries = Mapping[str, Sequence[float]]  # metric -> (b0, b1, b2, b3), descending, index scale
Weights = Mapping[str, float]  # metric -> non-negative weight


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
# the whole pipeline, one task at a time, over arrays. Its steps (reference_rows, scale_matrix,
# value_matrix, calibrated_boundaries; the engine's levels and compound; mlel.ratings.odds) are
# public: ELEx re-rates a task on every slider move with these same functions, never a copy.


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
    gates: Gates | None = DEFAULT_GATES  # validity gates before a grade; None: none (not advised)


def reference_rows(entries: Sequence[ModelResult], reference: str, warnings: list[str] | None = None
                   ) -> list[int]:
    """Per entry, the row of its reference: a graded entry of the reference *model* in the same
    environment, of the same configuration where there is one (else the first in ``entries``'
    order); NO_REFERENCE where none exists (each such environment is named in ``warnings``)."""
    warnings = [] if warnings is None else warnings
    candidates: dict[str, list[int]] = defaultdict(list)
    by_env: dict[str, list[int]] = defaultdict(list)
    for row, entry in enumerate(entries):
        by_env[entry.environment].append(row)
        if entry.model == reference and entry.not_graded is None:
            candidates[entry.environment].append(row)
    out = [NO_REFERENCE] * len(entries)
    for environment, rows in by_env.items():
        found = candidates.get(environment)
        if not found:
            warnings.append(f"reference model '{reference}' has no graded {entries[rows[0]].task} "
                            f"results in environment '{environment}': its {len(rows)} model(s) get no index "
                            f"(rated E); choose another --reference or --scale best")
            continue
        for row in rows:
            if len(found) == 1:
                out[row] = found[0]
                continue
            same = [c for c in found if entries[c].configuration == entries[row].configuration]
            out[row] = (same or found)[0]
    return out


def scale_matrix(entries: Sequence[ModelResult], values: np.ndarray, higher_is_better: np.ndarray,
                 graded: np.ndarray, references: Sequence[int], scale: str) -> np.ndarray:
    """(n, m): the value each entry's property is indexed against (NaN: no index): its reference's
    (``references``: :func:`reference_rows`) or, on the ``best`` scale, the best graded value of
    its environment."""
    if scale == "best":
        codes: dict[str, int] = {}  # environment -> its number, in order of first appearance
        env = np.array([codes.setdefault(entry.environment, len(codes)) for entry in entries], dtype=np.int64)
        best = np.full((len(codes), values.shape[1]), np.nan)
        for code in range(len(codes)):
            setting = values[(env == code) & graded]  # not graded entries set no scale
            if len(setting):
                with np.errstate(all="ignore"):
                    best[code] = np.where(higher_is_better, np.fmax.reduce(setting, axis=0),
                                          np.fmin.reduce(setting, axis=0))
        return best[env]
    against = np.full(values.shape, np.nan)
    rows = np.asarray(references, dtype=np.int64)
    indexed = rows != NO_REFERENCE
    against[indexed] = values[rows[indexed]]
    return against


def calibrated_boundaries(indices: np.ndarray, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> np.ndarray:
    """(m, 4) boundaries from the quantiles of the graded rows' ``indices``; a property without
    any index gets NO_BOUNDARIES (it rates E)."""
    bounds = engine.quantile_boundaries(indices, quantiles)
    bounds[np.isnan(bounds).any(axis=1)] = NO_BOUNDARIES
    return bounds


def _boundary_matrix(keys: Sequence[str], indices: np.ndarray, prop_set: PropertySet,
                     options: RatingOptions) -> np.ndarray:
    """(m, 4) boundaries: calibrated (``--calibrate`` or the best scale), else the property set's
    defaults with the given ones over them. A property without boundaries rates E."""
    if options.calibrate or (options.scale == "best" and options.boundaries is None):
        return calibrated_boundaries(indices, options.quantiles)
    chosen = {**prop_set.default_boundaries(), **dict(options.boundaries or {})}
    return np.array([chosen.get(k, NO_BOUNDARIES) for k in keys], dtype=float).reshape(-1, 4)


def value_matrix(entries: Sequence[ModelResult], keys: Sequence[str]) -> np.ndarray:
    """(n, m) property values; None -> NaN by numpy's own float conversion (one flat list: no
    nested lists for numpy to walk, no Python call per value)."""
    flat: list = []
    extend = flat.extend
    for entry in entries:
        extend(map(entry.values.get, keys))
    return np.array(flat, dtype=float).reshape(len(entries), len(keys))


def _row_tuples(matrix: np.ndarray) -> Iterable[tuple]:
    """Each row of an (n, m) matrix as a tuple of Python numbers, made as it is read. (``tolist()``'s
    100,000 row lists lived long enough for the collector to move them to its oldest generation and
    walk them there; tuples of numbers it stops tracking at once. Issue 23.)"""
    if not matrix.shape[1]:
        return itertools.repeat((), len(matrix))
    return zip(*matrix.T.tolist())


def _rate_task(entries: list[ModelResult], prop_set: PropertySet, options: RatingOptions,
               warnings: list[str]) -> list[RatedResult]:
    keys = prop_set.keys
    higher_is_better = np.array([p.higher_is_better for p in prop_set.properties])
    values = value_matrix(entries, keys)
    graded = np.array([e.not_graded is None for e in entries], dtype=bool)
    references = (reference_rows(entries, options.reference, warnings) if options.scale == "reference"
                  else [NO_REFERENCE] * len(entries))
    scale = scale_matrix(entries, values, higher_is_better, graded, references, options.scale)
    indices = engine.index_matrix(values, scale, higher_is_better)
    bounds = _boundary_matrix(keys, indices[graded], prop_set, options)
    levels = engine.rating_levels(indices, bounds)
    weights = task_weights(options.weights, prop_set.task, options.property_sets)
    weight_vector = np.array([weights[k] for k in keys])
    compound = engine.compound_levels(levels, weight_vector, options.mode)
    reference = options.reference if options.scale == "reference" else "best"
    how = dict(mode=options.mode, weights=weights, boundaries=dict(zip(keys, bounds.tolist())))  # shared
    supports = prop_set.supports()
    build = RatedResult.builder(keys, reference, how, supports)
    records = list(map(build, entries, _row_tuples(indices), _row_tuples(levels), compound.tolist()))
    odds = task_odds(entries, keys, graded, references, scale, higher_is_better, bounds, weight_vector,
                     options.mode)
    for row, (metric_p, compound_p) in odds.items():
        records[row] = with_odds(records[row], keys, metric_p, compound_p, supports)
    return records


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
    """RunLog records -> (rated summaries, warnings): gate, pool, index, rate, compound."""
    options = options or RatingOptions()
    return rate_results(aggregate_runs(runs, options.gates), options)
