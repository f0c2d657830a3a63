"""Calibrate and score the CPU power estimate against measured RAPL package power.

The 2022 merged logs hold, per run, RAPL's mean package power (``monitoring_pyrapl``:
``package-N``) beside the experiment process's mean CPU utilisation (``monitoring_psutil``:
``cpu_percent``, summed over its threads). One run is one point (utilisation, measured power).

Which runs can score a model of *machine* utilisation: those where the monitored process carried
the machine's load. Not PyTorch runs with a GPU: their input pipeline ran in DataLoader worker
processes the 2022 monitor did not watch (one pid), so the process shows ~1 busy thread while the
package drew 55–116 W. ``process_is_the_load`` encodes that rule; the bench reports all runs too.

Calibration and scoring never see the same run: ``split_by_model`` puts every run of a model on one
side (sorted model names, alternating); ``split_by_time`` splits the runs in time order. Both folds
of both splits are reported; the published error is the worst of the four.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from mlel.base.io import read_json

from .estimate import (PowerCurve, core_activity, cpu_power, package_power_w, resolve_tdp,
                       threads_per_core)

# the grid fit_curve searches: idle share, SMT gain, exponent (1 linear … 3 cubic, as P ∝ f·V²)
IDLE_GRID = tuple(round(0.01 * i, 2) for i in range(0, 41))
SMT_GRID = tuple(round(0.05 * i, 2) for i in range(0, 21))
EXPONENT_GRID = tuple(round(0.5 + 0.1 * i, 1) for i in range(0, 26))


@dataclass(frozen=True)
class PowerPoint:
    """One run: measured package power beside the utilisation that drove it."""
    file: str
    cpu_name: str
    logical_cpus: int
    physical_cpus: int
    utilisation: float  # machine share in [0, 1], from the process's CPU %
    package_power_w: float  # RAPL, mean over the run, summed over packages
    model: str
    backend: str
    task: str
    has_gpu: bool


@dataclass(frozen=True)
class Score:
    wape: float  # Σ|predicted − measured| / Σ measured
    points: int
    cpus: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"wape": self.wape, "points": self.points, "cpus": list(self.cpus)}


def point_from_log(data: dict, file: str = "") -> PowerPoint | None:
    """The run's point, or None when it lacks RAPL or psutil data."""
    split = data.get("validation") if "validation" in data else data
    rapl, ps = (split or {}).get("monitoring_pyrapl"), (split or {}).get("monitoring_psutil")
    platform, config = data.get("execution_platform") or {}, data.get("config") or {}
    if not rapl or not ps or not platform.get("Total cores"):
        return None
    package_w = sum(stats["mean"] for device, values in rapl.items() if device != "total"
                    for key, stats in values.items()
                    if key.startswith("package-") and not key.endswith(".dram") and isinstance(stats, dict))
    busy_percent = sum(values["cpu_percent"]["mean"] for pid, values in ps.items()
                       if pid != "total" and isinstance(values.get("cpu_percent"), dict))
    logical = int(platform["Total cores"])
    return PowerPoint(file, platform.get("Processor", ""), logical, int(platform.get("Physical cores") or logical),
                      min(1.0, busy_percent / 100.0 / logical), package_w,
                      str(config.get("model") or config.get("infer_model")), str(config.get("backend")),
                      "inference" if "validation" in data else "training", bool(platform.get("GPU")))


def load_points(directory: str | Path) -> list[PowerPoint]:
    """Points of every merged log in ``directory`` that has RAPL and psutil data."""
    points = []
    for path in sorted(Path(directory).glob("*.json")):
        point = point_from_log(read_json(path), path.name)
        if point is not None:
            points.append(point)
    return points


def process_is_the_load(point: PowerPoint) -> bool:
    """False for PyTorch runs with a GPU (their DataLoader workers went unmonitored)."""
    return not (point.backend == "pytorch" and point.has_gpu)


def split_by_model(points: Sequence[PowerPoint], fold: int) -> tuple[list[PowerPoint], list[PowerPoint]]:
    """(calibration, held-out): models sorted by name, even positions calibrate in fold 0, odd in 1."""
    models = sorted({p.model for p in points})
    side = {model: (i + fold) % 2 == 0 for i, model in enumerate(models)}
    return [p for p in points if side[p.model]], [p for p in points if not side[p.model]]


def split_by_time(points: Sequence[PowerPoint], fold: int) -> tuple[list[PowerPoint], list[PowerPoint]]:
    """(calibration, held-out): runs in time order (file names carry the start time), the earlier
    half calibrates in fold 0, the later in fold 1. Harder than by model: the halves differ in load
    regime (the later runs are mostly CPU-only at high load)."""
    ordered = sorted(points, key=lambda p: p.file)
    early, late = ordered[:len(ordered) // 2], ordered[len(ordered) // 2:]
    return (early, late) if fold == 0 else (late, early)


def wape(predicted: Iterable[float], measured: Iterable[float]) -> float:
    predicted, measured = np.asarray(list(predicted), float), np.asarray(list(measured), float)
    return float(np.abs(predicted - measured).sum() / measured.sum())


def old_prediction(point: PowerPoint) -> float:
    tdp, _ = resolve_tdp(None, point.cpu_name, point.logical_cpus)
    return cpu_power(point.utilisation, tdp)


def curve_prediction(curve: PowerCurve) -> Callable[[PowerPoint], float]:
    def predict(point: PowerPoint) -> float:
        tdp, _ = resolve_tdp(None, point.cpu_name, point.logical_cpus)
        threads = threads_per_core(point.cpu_name, point.logical_cpus, point.physical_cpus)
        return package_power_w(point.utilisation, tdp, point.logical_cpus, threads, curve)
    return predict


def score(points: Sequence[PowerPoint], predict: Callable[[PowerPoint], float]) -> Score:
    return Score(wape(map(predict, points), (p.package_power_w for p in points)), len(points),
                 tuple(sorted({p.cpu_name for p in points})))


def fit_curve(points: Sequence[PowerPoint]) -> PowerCurve:
    """The grid curve with the lowest WAPE on ``points`` (ties: the first in grid order)."""
    tdp = np.array([resolve_tdp(None, p.cpu_name, p.logical_cpus)[0] for p in points])
    measured = np.array([p.package_power_w for p in points])
    best = (math.inf, None)
    for smt in SMT_GRID:
        activity = np.array([core_activity(p.utilisation, p.logical_cpus,
                                           threads_per_core(p.cpu_name, p.logical_cpus, p.physical_cpus), smt)
                             for p in points])
        shaped = activity[None, :] ** np.array(EXPONENT_GRID)[:, None]  # (exponents, points)
        idle = np.array(IDLE_GRID)[:, None, None]
        predicted = tdp * (idle + (1 - idle) * shaped[None])  # (idles, exponents, points)
        errors = np.abs(predicted - measured).sum(axis=-1) / measured.sum()
        i, e = np.unravel_index(np.argmin(errors), errors.shape)
        if errors[i, e] < best[0] - 1e-12:
            best = (errors[i, e], PowerCurve(IDLE_GRID[i], smt, EXPONENT_GRID[e]))
    return best[1]
