"""Runs -> entries to rate: pool runs of one configuration, gate them, flag invalid values.

Runs pool only when they measured the same thing: same task, environment, model and configuration
(:attr:`mlel.runlog.logs.RunLog.configuration`: data set, weights trained or not, classes, input size,
batch size, precision). Entries of one model that differ are named by what differs
("MobileNetV3Small (untrained, 1000 classes)"). A run that fails a validity gate
(:mod:`mlel.ratings.gates`) is pooled only with other failing runs of its configuration, into an
entry that is shown but not graded. A metric whose input was invalid in any pooled run is invalid
for the entry (value null, named), never computed from the rest or from a default.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

from mlel.monitoring.energy import above_baseline_j
from mlel.runlog.logs import RunLog
from mlel.runlog.metrics import TASKS, compute_metrics, invalid_metrics, task_metrics
from mlel.ratings.rated import ModelResult
from mlel.ratings.gates import DEFAULT_GATES, Gates, gate_note, gate_reason
from mlel.ratings.uncertainty import population_std
from mlel.ratings.intervals import mean_of

ACCURACY_KEYS = ("top1_val", "top5_val")


def _mean(values: list[float | None]) -> tuple[float | None, float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return None, None
    mean = mean_of(present)  # scaled: two runs of 1e308 J average to 1e308, not an OverflowError
    return mean, (population_std(present) if len(present) > 1 else None)


def _dynamic(run: RunLog) -> float | None:
    return above_baseline_j(run.energy_ws, run.baseline_energy_ws)  # the one definition (monitoring)


def _flags(members: Sequence[RunLog]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Invalid metrics of the pooled runs (first problem named with its file) and all problems."""
    invalid: dict[str, str] = {}
    if len(members) == 1 and not members[0].invalid and not members[0].problems:  # the common case
        return invalid, ()
    for run in members:
        for key, problem in invalid_metrics(run).items():
            invalid.setdefault(key, f"{run.file}: {problem}")
    problems = tuple(f"{run.file}: {problem}" for run in members for problem in run.problems)
    return invalid, problems


def _entry(key: tuple, members: list[RunLog], reasons: list[str]) -> ModelResult:
    """One entry from the runs of one (task, environment, model, configuration, graded)."""
    task, environment, model, configuration, _ = key
    if len(members) > 1:
        members.sort(key=lambda r: r.file)
    per_run = [compute_metrics(r) for r in members]
    invalid, problems = _flags(members)
    common = dict(dataset=members[0].dataset, backend=members[0].backend, configuration=configuration,
                  invalid=invalid, problems=problems, not_graded=gate_note(reasons))
    if len(members) == 1:  # the common case: the mean of one value is the value, no spread
        run = members[0]
        return ModelResult(task, environment, model, [run.file], per_run[0], {}, sources=dict(run.sources),
                           energy_ws=run.energy_ws, dynamic_energy_ws=_dynamic(run), gco2e=run.gco2e, **common)
    values, spread = {}, {}
    for metric in task_metrics(task):
        values[metric], std = _mean([m[metric] for m in per_run])
        if std is not None:
            spread[metric] = std
    for metric in invalid:
        values[metric] = None
    sources = {}
    for run in members:
        sources.update(run.sources)
    return ModelResult(task, environment, model, [r.file for r in members], values, spread, sources=sources,
                       energy_ws=_mean([r.energy_ws for r in members])[0],
                       dynamic_energy_ws=_mean([_dynamic(r) for r in members])[0],
                       gco2e=_mean([r.gco2e for r in members])[0], run_values=tuple(per_run), **common)


_SHOWN = {"num_classes": "{} classes", "input_size": "{} px", "batch_size": "batch {}"}


def variant_names(configurations: Sequence[tuple[tuple[str, str], ...]]) -> list[str]:
    """What tells each configuration from the others of its model: the settings that differ,
    in words ("untrained, 1000 classes"); "" where the model has one configuration."""
    if len(set(configurations)) < 2:
        return ["" for _ in configurations]
    as_dicts = [dict(c) for c in configurations]
    keys = sorted({k for d in as_dicts for k in d}, key=lambda k: (k != "weights", k != "dataset", k))
    differing = [k for k in keys if len({d.get(k) for d in as_dicts}) > 1]
    return [", ".join(_SHOWN.get(k, "{}").format(d[k]) if k in d else f"no {k}" for k in differing)
            for d in as_dicts]


def _accuracy_source(training: ModelResult, inference: list[ModelResult]) -> ModelResult | None:
    """The inference entry whose accuracy a training entry shows: same environment and model,
    preferring the same data set, trained weights and the same number of classes."""
    def score(candidate: ModelResult) -> tuple:
        mine, theirs = dict(training.configuration), dict(candidate.configuration)
        return (candidate.dataset == training.dataset, candidate.not_graded is None,
                theirs.get("weights") != "untrained",
                mine.get("num_classes") == theirs.get("num_classes"), candidate.n_runs)
    return max(inference, key=score) if inference else None


def _give_accuracy(results: list[ModelResult]) -> None:
    inference = defaultdict(list)
    for result in results:
        if result.task == "inference":
            inference[(result.environment, result.model)].append(result)
    for result in results:
        if result.task != "training":
            continue
        source = _accuracy_source(result, inference.get((result.environment, result.model), []))
        for key in ACCURACY_KEYS:
            result.values[key] = source.values.get(key) if source else None
            if source and key in source.invalid:
                result.invalid[key] = source.invalid[key]


def aggregate_runs(runs: Iterable[RunLog], gates: Gates | None = DEFAULT_GATES) -> list[ModelResult]:
    """Group runs by (task, environment, model, configuration) — and apart, those that fail a
    validity gate — average metric values, name entries by what differs, and give training
    entries the top-1/top-5 accuracy of the matching inference entry. ``gates=None``: no gates."""
    groups: dict[tuple, list[RunLog]] = defaultdict(list)
    reasons: dict[tuple, list[str]] = defaultdict(list)
    for run in runs:
        reason = gate_reason(run, gates) if gates is not None else None
        key = (run.task, run.environment, run.model, run.configuration, reason is None)
        groups[key].append(run)
        if reason:
            reasons[key].append(reason)
    results = [_entry(key, members, reasons[key]) for key, members in groups.items()]
    by_model: dict[tuple, list[int]] = defaultdict(list)
    for position, result in enumerate(results):
        by_model[(result.task, result.environment, result.model)].append(position)
    for positions in by_model.values():
        if len(positions) < 2:  # one configuration: named by its model alone
            continue
        names = variant_names([results[p].configuration for p in positions])
        for position, name in zip(positions, names):
            if name:
                results[position] = _renamed(results[position], name)
    _give_accuracy(results)
    results.sort(key=lambda r: (TASKS.index(r.task) if r.task in TASKS else 9, r.environment, r.model,
                                r.variant, r.not_graded is not None))
    return results


def _renamed(result: ModelResult, variant: str) -> ModelResult:
    from dataclasses import replace
    return replace(result, variant=variant)
