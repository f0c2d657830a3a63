"""The metrics of merged logs (SPEC §4): what each one means comes from the built-in property sets
(``mlel/tasks/data/inference.json``, ``training.json``); how each is computed from one run
record is code, here, keyed by the property key.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from mlel.runlog.logs import RunLog
from mlel.base.names import normalise_model_name
from mlel.tasks.properties import load_property_set
from mlel.base.units import J_PER_KWH, MS_PER_S, PER_GIGA, PER_MILLION, S_PER_H

DEFAULT_SAMPLES = 50_000  # 2022 logs ran the full ImageNet validation set and did not record it
TASKS = ("inference", "training")  # the tasks of merged logs


@dataclass(frozen=True)
class Metric:
    key: str
    tasks: tuple[str, ...]
    unit: str
    higher_is_better: bool
    label: str  # short human text, for tables, axes and labels


def _metric_table() -> dict[str, Metric]:
    sets = [load_property_set(task) for task in TASKS]
    table: dict[str, Metric] = {}
    for prop_set in sets:
        for prop in prop_set.properties:
            if prop.key not in table:
                tasks = tuple(s.task for s in sets if s.get(prop.key) is not None)
                table[prop.key] = Metric(prop.key, tasks, prop.unit, prop.higher_is_better, prop.name)
    return table


METRICS: dict[str, Metric] = _metric_table()
# The metrics on each task's label: weight 1 by default, all others 0 (SPEC §5).
LABEL_METRICS = {task: load_property_set(task).label_tiles for task in TASKS}


@lru_cache(maxsize=None)
def task_metrics(task: str) -> tuple[str, ...]:
    """The metric keys of one task, in table order (built-in sets are fixed: asked once per task)."""
    return load_property_set(task).keys


# Full-training epochs of the models' reference recipes; keys are normalised names.
_FULL_TRAINING_EPOCHS = {
    **dict.fromkeys(("resnet50", "resnet101", "resnet152", "vgg16", "vgg19", "densenet121",
                     "densenet169", "densenet201"), 90),
    **dict.fromkeys(("regnetx400mf", "regnetx8gf", "regnetx32gf", "resnext50", "resnext101",
                     "inceptionv3", "nasnetmobile"), 100),
    "inceptionresnetv2": 200,
    "mobilenetv2": 300,
    **dict.fromkeys(("mobilenetv3small", "mobilenetv3large", "quicknetsmall", "quicknet",
                     "quicknetlarge"), 600),
}


def full_training_epochs(model: str) -> int | None:
    """Reference-recipe epochs of a known model; None where unknown (EfficientNet, Xception, …)."""
    return _FULL_TRAINING_EPOCHS.get(normalise_model_name(model))


def _measured(value: float | None) -> float | None:
    # 0 for a lower-is-better count means "not measured" (e.g. FLOPs of some 2022 PyTorch runs).
    return None if not value else float(value)


def _per(numerator: float | None, denominator: float | None, factor: float = 1.0) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator * factor


def _training_total(per_epoch: float | None, run: RunLog) -> float | None:
    epochs = run.full_epochs if run.full_epochs else full_training_epochs(run.model)
    return None if per_epoch is None or epochs is None else per_epoch * epochs


def _model_values(r: RunLog) -> tuple[float | None, float | None, float | None]:
    """(parameters in millions, GFLOPs, file size in bytes)."""
    params, flops = _measured(r.params), _measured(r.flops)
    return (None if params is None else params * PER_MILLION, None if flops is None else flops * PER_GIGA,
            _measured(r.fsize))


# One function per task, every metric in the property set's order: called once per run (20,000
# runs rate in a second), so no call per metric.
def _inference_values(r: RunLog) -> dict[str, float | None]:
    parameters, gflops, fsize = _model_values(r)
    samples = r.n_samples or DEFAULT_SAMPLES
    return {"parameters": parameters, "gflops": gflops, "fsize": fsize,
            "inference_power_draw": _per(r.energy_ws, samples),
            "inference_time": _per(r.duration_s, samples, MS_PER_S),
            "top1_val": r.accuracy, "top5_val": r.top5_accuracy,
            # infer.py --trust; None (not measured) without it
            "ece": r.ece, "nll": r.nll, "corruption_top1": r.corruption_top1, "robustness": r.robustness}


def _training_values(r: RunLog) -> dict[str, float | None]:
    parameters, gflops, fsize = _model_values(r)
    energy_kwh = _per(r.energy_ws, r.epochs, 1 / J_PER_KWH)
    hours = _per(r.duration_s, r.epochs, 1 / S_PER_H)
    return {"parameters": parameters, "gflops": gflops, "fsize": fsize, "top1_val": r.accuracy,
            "top5_val": r.top5_accuracy, "train_power_draw_epoch": energy_kwh,
            "train_power_draw": _training_total(energy_kwh, r), "train_time_epoch": hours,
            "train_time": _training_total(hours, r)}


_COMPUTE: dict[str, Callable[[RunLog], dict[str, float | None]]] = {
    "inference": _inference_values, "training": _training_values}


# The run fields (RunLog.invalid keys) each metric is computed from: an invalid one makes it invalid.
INPUTS: dict[str, tuple[str, ...]] = {
    "parameters": ("params",), "gflops": ("flops",), "fsize": ("fsize",),
    "inference_power_draw": ("energy", "n_samples"), "inference_time": ("duration_s", "n_samples"),
    "top1_val": ("accuracy",), "top5_val": ("top5_accuracy",),
    "train_power_draw_epoch": ("energy", "epochs"), "train_time_epoch": ("duration_s", "epochs"),
    "train_power_draw": ("energy", "epochs", "full_epochs"),
    "train_time": ("duration_s", "epochs", "full_epochs"),
    **{key: (key, "trust") for key in ("ece", "nll", "corruption_top1", "robustness")},  # "trust": all of it bad
}
def _problem_of(run: RunLog, field: str) -> str:
    """The first problem of ``run`` that made ``field`` invalid, as text."""
    for problem in run.problems:
        if problem.key == field:
            return str(problem)
    return f"{field}: invalid value"


def invalid_metrics(run: RunLog) -> dict[str, str]:
    """Metric key -> the problem of the invalid input it needs (only metrics of the run's task)."""
    if not run.invalid:
        return {}
    return {key: _problem_of(run, next(f for f in INPUTS.get(key, ()) if f in run.invalid))
            for key in task_metrics(run.task) if run.invalid.intersection(INPUTS.get(key, ()))}


def compute_metrics(run: RunLog) -> dict[str, float | None]:
    """Metric values of one run; a metric with an invalid input is None (never a default).
    Training accuracy comes from the inference runs (see ratings)."""
    values = _COMPUTE[run.task](run)
    if run.invalid:
        for key in invalid_metrics(run):
            values[key] = None
    return values
