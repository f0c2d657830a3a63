"""Index, rating, boundaries, calibration, weights and compound rating — pure functions (SPEC §5).

Nothing here reads files or keeps global state: callers pass plain records in and get plain records
out. ``rate_runs`` is the whole pipeline from :class:`~mlel.logs.RunLog` records to rated summaries;
the pieces (``index_value``, ``rating_from_index``, ``compound_rating``, …) are public too.
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from mlel.logs import RunLog
from mlel.resources import default_boundaries
from mlel.metrics import LABEL_METRICS, METRICS, TASKS, compute_metrics, task_metrics

RATINGS = ("A", "B", "C", "D", "E")
# The EU energy label's colours (SPEC §6), shared by labels, ELEx and the paper's figures.
RATING_COLORS = {"A": "#639B30", "B": "#B8AC2B", "C": "#F8B830", "D": "#EF7D29", "E": "#E52421"}
COMPOUND_MODES = ("optimistic median", "pessimistic median", "optimistic mean", "pessimistic mean",
                  "best", "worst", "majority")
DEFAULT_MODE = "optimistic median"
DEFAULT_REFERENCE = "ResNet101"
DEFAULT_QUANTILES = (0.8, 0.6, 0.4, 0.2)
SCALES = ("reference", "best")
_EXACT = 1e-9  # tolerance when a cumulative weight "is exactly" 0.5

Boundaries = Mapping[str, Sequence[float]]  # metric -> (b0, b1, b2, b3), descending, index scale
Weights = Mapping[str, float]  # metric -> non-negative weight


@dataclass
class ModelResult:
    """One (task, environment, model): its runs' metric values averaged (SPEC §5, last point)."""

    task: str
    environment: str
    model: str
    logs: list[str]
    values: dict[str, float | None]
    spread: dict[str, float] = field(default_factory=dict)  # std over runs, where > 1 run
    dataset: str = ""
    backend: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    energy_ws: float | None = None
    dynamic_energy_ws: float | None = None
    gco2e: float | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.task, self.environment, self.model

    @property
    def estimated(self) -> bool:
        return "estimated" in self.sources.values()


# ---------------------------------------------------------------------------------------------
# aggregation


def _mean(values: list[float | None]) -> tuple[float | None, float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return None, None
    mean = math.fsum(present) / len(present)
    return mean, (statistics.pstdev(present) if len(present) > 1 else None)


def aggregate_runs(runs: Iterable[RunLog]) -> list[ModelResult]:
    """Group runs by (task, environment, model), average metric values, and give training results
    the top-1/top-5 accuracy of the inference results of the same model and environment."""
    groups: dict[tuple[str, str, str], list[RunLog]] = defaultdict(list)
    for run in runs:
        groups[(run.task, run.environment, run.model)].append(run)
    results = []
    for (task, environment, model), members in groups.items():
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
        results.append(ModelResult(task, environment, model, [r.file for r in members], values, spread,
                                   dataset=members[0].dataset, backend=members[0].backend,
                                   sources=sources, energy_ws=energy, dynamic_energy_ws=dynamic,
                                   gco2e=gco2e))
    inference = {(r.environment, r.model): r for r in results if r.task == "inference"}
    for result in results:
        if result.task == "training":
            source = inference.get((result.environment, result.model))
            for key in ("top1_val", "top5_val"):
                result.values[key] = source.values.get(key) if source else None
    results.sort(key=lambda r: (TASKS.index(r.task) if r.task in TASKS else 9, r.environment, r.model))
    return results


# ---------------------------------------------------------------------------------------------
# index and rating of one value


def index_value(value: float | None, reference: float | None, higher_is_better: bool) -> float | None:
    """``v / r`` where higher is better, ``r / v`` where lower is better: > 1 beats the reference."""
    if value is None or reference is None:
        return None
    try:
        return value / reference if higher_is_better else reference / value
    except ZeroDivisionError:
        return None


def rating_from_index(index: float | None, boundaries: Sequence[float]) -> str:
    """index > b0 → A; b0 ≥ index > b1 → B; … ; else E. Missing index → E."""
    if index is None or math.isnan(index):
        return "E"
    for rating, bound in zip(RATINGS, boundaries):
        if index > bound:
            return rating
    return "E"


def real_boundaries(boundaries: Sequence[float], reference: float, higher_is_better: bool) -> list[float]:
    """Index-scale boundaries in the metric's own unit, for plots: ``b×r`` or ``r/b``."""
    if higher_is_better:
        return [b * reference for b in boundaries]
    return [reference / b if b else math.inf for b in boundaries]


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (numpy's default), without numpy."""
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def calibrate_boundaries(indices: Mapping[str, Iterable[float | None]],
                         quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict[str, list[float]]:
    """Boundaries b0..b3 per metric = the quantiles of its index values (missing ones ignored)."""
    calibrated = {}
    for key, values in indices.items():
        present = sorted(v for v in values if v is not None and math.isfinite(v))
        if present:
            calibrated[key] = [_quantile(present, q) for q in quantiles]
    return calibrated


def check_boundaries(boundaries: Boundaries) -> None:
    """Raise ValueError naming the metric unless every entry is four descending numbers."""
    for key, bounds in boundaries.items():
        if len(bounds) != 4 or not all(isinstance(b, (int, float)) for b in bounds):
            raise ValueError(f"boundaries of '{key}' must be four numbers b0 > b1 > b2 > b3, got {bounds!r}")
        if any(a < b for a, b in zip(bounds, bounds[1:])):
            raise ValueError(f"boundaries of '{key}' must descend (b0 ≥ b1 ≥ b2 ≥ b3), got {list(bounds)}")


# ---------------------------------------------------------------------------------------------
# weights and compound rating


def default_weights(task: str) -> dict[str, float]:
    return {key: (1.0 if key in LABEL_METRICS[task] else 0.0) for key in task_metrics(task)}


def task_weights(weights: Mapping | None, task: str) -> dict[str, float]:
    """Weights for one task from ``None`` (defaults), ``{metric: w}`` or ``{task: {metric: w}}``.
    Metrics a flat mapping does not name keep their default weight."""
    result = default_weights(task)
    if weights:
        chosen = weights.get(task, {}) if any(t in weights for t in TASKS) else weights
        for key, weight in chosen.items():
            if key in result:
                result[key] = float(weight)
    for key, weight in result.items():
        if not weight >= 0:
            raise ValueError(f"weight of '{key}' must be non-negative, got {weight}")
    return result


def compound_rating(ratings: Mapping[str, str], weights: Mapping[str, float],
                    mode: str = DEFAULT_MODE) -> str:
    """Compound rating of one model from its metric ratings and weights (SPEC §5).

    Only metrics with weight > 0 count; weights are normalised over them.
    """
    if mode not in COMPOUND_MODES:
        raise ValueError(f"unknown compound mode '{mode}'; choose from: {', '.join(COMPOUND_MODES)}")
    levels: dict[int, float] = defaultdict(float)
    for key, rating in ratings.items():
        weight = weights.get(key, 0.0)
        if weight > 0:
            levels[RATINGS.index(rating)] += weight
    total = math.fsum(levels.values())
    if total <= 0:
        raise ValueError("no metric has a weight > 0: nothing to compound")
    order = sorted(levels)
    share = {level: levels[level] / total for level in order}
    if mode == "best":
        return RATINGS[order[0]]
    if mode == "worst":
        return RATINGS[order[-1]]
    if mode == "majority":  # largest total weight; ties go to the better rating
        return RATINGS[max(order, key=lambda level: (share[level], -level))]
    if mode.endswith("mean"):
        mean = math.fsum(level * w for level, w in share.items())
        rounded = math.floor(mean + _EXACT) if mode.startswith("optimistic") else math.ceil(mean - _EXACT)
        return RATINGS[rounded]
    cumulative = 0.0
    for position, level in enumerate(order):  # weighted median
        cumulative += share[level]
        if abs(cumulative - 0.5) <= _EXACT and position + 1 < len(order):
            middle = (level + order[position + 1]) / 2
            return RATINGS[math.floor(middle) if mode.startswith("optimistic") else math.ceil(middle)]
        if cumulative >= 0.5 - _EXACT:
            return RATINGS[level]
    return RATINGS[order[-1]]  # pragma: no cover - cumulative reaches 1


# ---------------------------------------------------------------------------------------------
# the whole pipeline


@dataclass
class RatingOptions:
    reference: str = DEFAULT_REFERENCE
    scale: str = "reference"  # "reference": index against the reference model; "best": STREP
    boundaries: Boundaries | None = None  # None: SPEC defaults on the reference scale, calibrated on best
    calibrate: bool = False  # boundaries from quantiles of the rated models' indices
    quantiles: Sequence[float] = DEFAULT_QUANTILES
    weights: Mapping | None = None
    mode: str = DEFAULT_MODE


def _scale_values(results: list[ModelResult], options: RatingOptions,
                  warnings: list[str]) -> dict[tuple[str, str], dict[str, float | None]]:
    """Per (task, environment): the value each metric is indexed against."""
    by_env: dict[tuple[str, str], list[ModelResult]] = defaultdict(list)
    for result in results:
        by_env[(result.task, result.environment)].append(result)
    scale = {}
    for (task, environment), members in by_env.items():
        if options.scale == "best":
            scale[(task, environment)] = {
                key: (max if METRICS[key].higher_is_better else min)(present) if present else None
                for key in task_metrics(task)
                for present in [[m.values[key] for m in members if m.values.get(key) is not None]]}
            continue
        reference = next((m for m in members if m.model == options.reference), None)
        if reference is None:
            warnings.append(f"reference model '{options.reference}' has no {task} results in "
                            f"environment '{environment}': its {len(members)} model(s) get no index "
                            f"(rated E); choose another --reference or --scale best")
            scale[(task, environment)] = {}
        else:
            scale[(task, environment)] = reference.values
    return scale


def rate_results(results: list[ModelResult], options: RatingOptions | None = None
                 ) -> tuple[list[dict], list[str]]:
    """Index and rate aggregated results. Returns (rated summaries per SPEC §7, warnings)."""
    options = options or RatingOptions()
    if options.scale not in SCALES:
        raise ValueError(f"unknown scale '{options.scale}'; choose from: {', '.join(SCALES)}")
    warnings: list[str] = []
    scale = _scale_values(results, options, warnings)
    indexed = []
    for result in results:
        reference = scale[(result.task, result.environment)]
        indices = {key: index_value(value, reference.get(key), METRICS[key].higher_is_better)
                   for key, value in result.values.items()}
        indexed.append((result, indices))
    boundaries_by_task = {}
    for task in {r.task for r in results}:
        if options.boundaries is not None and not options.calibrate:
            bounds = dict(options.boundaries)
        elif options.calibrate or options.scale == "best":
            per_metric = defaultdict(list)
            for result, indices in indexed:
                if result.task == task:
                    for key, index in indices.items():
                        per_metric[key].append(index)
            bounds = calibrate_boundaries(per_metric, options.quantiles)
        else:
            bounds = default_boundaries()
        boundaries_by_task[task] = bounds
    rated = []
    for result, indices in indexed:
        bounds = boundaries_by_task[result.task]
        weights = task_weights(options.weights, result.task)
        metrics = {}
        for key, value in result.values.items():
            metric_bounds = _bounds_for(bounds, key)
            metrics[key] = {"value": value, "index": indices[key],
                            "rating": rating_from_index(indices[key], metric_bounds)}
        ratings = {key: m["rating"] for key, m in metrics.items()}
        rated.append({
            "task": result.task, "environment": result.environment, "model": result.model,
            "logs": result.logs, "metrics": metrics,
            "compound": compound_rating(ratings, weights, options.mode),
            "dataset": result.dataset, "backend": result.backend,
            "reference": options.reference if options.scale == "reference" else "best",
            "energy": {"total_ws": result.energy_ws, "dynamic_ws": result.dynamic_energy_ws,
                       "sources": result.sources, "estimated": result.estimated,
                       "gco2e": result.gco2e},
            "spread": result.spread,
        })
    return rated, warnings


def _bounds_for(bounds: Boundaries, key: str) -> Sequence[float]:
    if key not in bounds:  # e.g. a calibrated metric with no values at all: nothing beats E
        return (math.inf,) * 4
    return bounds[key]


def rate_runs(runs: Iterable[RunLog], options: RatingOptions | None = None) -> tuple[list[dict], list[str]]:
    """RunLog records -> (rated summaries, warnings): aggregate, index, rate, compound."""
    return rate_results(aggregate_runs(runs), options)


if __name__ == "__main__":  # python -m mlel.ratings
    import sys

    from mlel.cli import ratings_main

    sys.exit(ratings_main())
