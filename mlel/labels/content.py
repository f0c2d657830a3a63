"""What the label says: one rated summary (SPEC §5/§7) -> plain records of ready-to-draw text.

Pure functions, no drawing: the texts can be tested and reused (ELEx, reports) on their own.
"""
from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass
from typing import Mapping

from mlel.formatting import NA, format_percent, format_quantity
from mlel.labels.qr import PROJECT_URL, label_link, paper_link
from mlel.logs import SOURCE_DEVICES
from mlel.metrics import LABEL_METRICS
from mlel.ratings import RATINGS
from mlel.units import MS_PER_S, j_to_wh

_DEVICE_ORDER = ("GPU", "CPU")  # the accelerator first, as on the 2022 labels


@dataclass(frozen=True)
class Cell:
    """One pictogram of the 2x2 grid."""

    kind: str  # pictogram: "power" | "runtime" | "accuracy" | "size"
    rating: str  # of the cell's metric, tints the pictogram
    caption: str  # next to the pictogram
    value: str  # the main figure, with its unit
    note: str  # what the main figure is
    second: str  # a second figure
    detail: str = ""  # under the caption: the energy sources
    estimated: bool = False  # detail is drawn as a warning
    uncertainty: str = ""  # under the detail: "estimated ± 15 %" where the error is known


@dataclass(frozen=True)
class LabelContent:
    model: str
    task: str  # "Inference" | "Training"
    dataset: str
    environment: str
    compound: str
    link: str  # what the QR code opens
    link_caption: str
    cells: tuple[Cell, Cell, Cell, Cell]
    footer_left: str
    footer_right: str


# The error of estimated energy, where known: the record's own figure (summary["energy"]:
# "expected_error" as a fraction, as the estimator records it, or "error_pct"), else the estimator's
# figure for the environment's hardware (mlel.monitoring.estimate.expected_error(cpu name) -> fraction).
ERROR_FRACTION_FIELD, ERROR_PCT_FIELD = "expected_error", "error_pct"
_ESTIMATE_MODULE = "mlel.monitoring.estimate"


def _number(value) -> float | None:
    """A finite float from a JSON value; anything else (None, bool, text, NaN, 10**400) -> None."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


@functools.lru_cache(maxsize=1)
def _estimator():
    try:  # imported on first need only: labels do not otherwise depend on the monitoring layer
        return importlib.import_module(_ESTIMATE_MODULE)
    except ImportError:
        return None


def _estimator_error_pct(hardware: str) -> float | None:
    """The estimator's expected error (%) for this hardware name, where it publishes one."""
    module = _estimator()
    if module is None:
        return None
    if callable(getattr(module, "expected_error", None)):
        try:
            fraction = _number(module.expected_error(hardware))
        except Exception:  # noqa: BLE001 - a figure we cannot get is a figure we do not show
            return None
        return None if fraction is None else 100 * fraction
    return _number(getattr(module, "ESTIMATE_ERROR_PCT", None))


def estimate_error_pct(energy: Mapping, environment: str = "") -> float | None:
    """The relative error (%) of estimated energy: the record's figure, else the estimator's for the
    environment's hardware (the part before " - ")."""
    fraction = _number(energy.get(ERROR_FRACTION_FIELD))
    if fraction is not None and fraction >= 0:
        return 100 * fraction
    own = _number(energy.get(ERROR_PCT_FIELD))
    if own is not None and own >= 0:
        return own
    return _estimator_error_pct(str(environment).split(" - ")[0])


def format_sources(sources: Mapping[str, str] | None, estimated: bool = False) -> tuple[str, bool]:
    """("Sources: GPU, CPU" | "Sources: CPU (estimated)", any estimated) from energy.sources."""
    word = "estimated"
    parts, any_estimated = [], bool(estimated)
    for name, status in (sources if isinstance(sources, Mapping) else {}).items():
        device = SOURCE_DEVICES.get(name, str(name))
        is_estimated = status == "estimated" or name == "estimate"
        any_estimated |= is_estimated
        parts.append((device, f"{device} ({word})" if is_estimated else device))
    parts.sort(key=lambda p: (_DEVICE_ORDER.index(p[0]) if p[0] in _DEVICE_ORDER else len(_DEVICE_ORDER), p[1]))
    texts = list(dict.fromkeys(text for _, text in parts))  # e.g. two GPU sources: one "GPU"
    if not texts:
        return f"Sources: {NA}", any_estimated
    if any_estimated and not any("estimated" in t for t in texts):
        texts[-1] += f" ({word})"  # the summary says estimated though no source does
    return "Sources: " + ", ".join(texts), any_estimated


def _metric(summary: Mapping, key: str) -> tuple[float | None, str]:
    metrics = summary.get("metrics")
    entry = metrics.get(key) if isinstance(metrics, Mapping) else None
    entry = entry if isinstance(entry, Mapping) else {}
    rating = entry.get("rating")
    return _number(entry.get("value")), rating if rating in RATINGS else "E"  # SPEC §5: missing -> E


def _energy_cell(summary: Mapping, task: str, key: str) -> Cell:
    energy = summary.get("energy")
    energy = energy if isinstance(energy, Mapping) else {}
    named = energy.get("sources") if isinstance(energy.get("sources"), Mapping) else {}
    estimated = bool(energy.get("estimated")) or "estimate" in named or "estimated" in named.values()
    sources, estimated = format_sources(named, estimated)
    error = estimate_error_pct(energy, summary.get("environment", "")) if estimated else None
    uncertainty = "" if error is None else f"estimated \u00b1 {error:.3g} %"
    power, rating = _metric(summary, key)
    if task == "inference":
        total_j = _number(energy.get("total_ws"))  # Ws = J
        run_total = format_quantity(None if total_j is None else j_to_wh(total_j), "Wh")
        return Cell("power", rating, "Power draw", format_quantity(power, "Ws"), "per sample",
                    f"Whole run: {run_total}", sources, estimated, uncertainty)
    epoch_energy, _ = _metric(summary, "train_power_draw_epoch")
    return Cell("power", rating, "Power draw", format_quantity(power, "kWh"), "full training",
                f"Per epoch: {format_quantity(epoch_energy, 'kWh')}", sources, estimated, uncertainty)


def _cells(summary: Mapping, task: str) -> tuple[Cell, Cell, Cell, Cell]:
    _, time_key, accuracy_key, size_key = LABEL_METRICS[task]
    runtime, time_rating = _metric(summary, time_key)
    top1, accuracy_rating = _metric(summary, accuracy_key)
    top5, _ = _metric(summary, "top5_val")
    parameters, size_rating = _metric(summary, size_key)
    gflops, _ = _metric(summary, "gflops")
    if task == "inference":
        throughput = MS_PER_S / runtime if runtime else None  # runtime is ms per sample
        time_cell = Cell("runtime", time_rating, "Runtime", format_quantity(runtime, "ms"), "per sample",
                         f"Throughput: {format_quantity(throughput, 'samples/s')}")
    else:
        epoch_time, _ = _metric(summary, "train_time_epoch")
        time_cell = Cell("runtime", time_rating, "Runtime", format_quantity(runtime, "h"), "full training",
                         f"Per epoch: {format_quantity(epoch_time, 'h')}")
    accuracy_cell = Cell("accuracy", accuracy_rating, "Accuracy", format_percent(top1), "top-1",
                         f"Top-5: {format_percent(top5)}")
    size_cell = Cell("size", size_rating, "Model size", format_quantity(parameters, "M"), "parameters",
                     f"Operations: {format_quantity(gflops, 'GFLOPs')}")
    return _energy_cell(summary, task, LABEL_METRICS[task][0]), time_cell, accuracy_cell, size_cell


def label_content(summary: Mapping, link: str | None = None) -> LabelContent:
    """The label's texts from one rated summary. Raises ValueError naming a missing field."""
    if not isinstance(summary, Mapping):
        raise ValueError(f"a label needs a rated summary (dict), not {type(summary).__name__}")
    for key in ("task", "model", "environment", "compound", "metrics"):
        if key not in summary:
            raise ValueError(f"not a rated summary: missing field '{key}'")
    task = summary["task"]
    if not isinstance(task, str) or task not in LABEL_METRICS:
        raise ValueError(f"unknown task '{task}'; known: {', '.join(LABEL_METRICS)}")
    compound = summary["compound"]
    if not isinstance(compound, str) or compound not in RATINGS:
        raise ValueError(f"compound rating must be one of {', '.join(RATINGS)}, not {compound!r}")
    model = str(summary["model"])
    link = link or label_link(model)
    if link == paper_link(model):
        link_caption = "Model paper"
    elif link == PROJECT_URL:
        link_caption = "About MLEE"
    else:
        link_caption = "More"
    reference = summary.get("reference")
    if reference == "best":
        footer_left = "Index scale: best model per environment"
    else:
        footer_left = f"Reference model: {reference or NA}"
    if summary.get("mode"):  # ELEx and the CLI say how the compound rating was formed
        footer_left += f"  \u00b7  {summary['mode']}"
    logs = summary.get("logs") if isinstance(summary.get("logs"), (list, tuple)) else []
    footer_right = str(logs[0]) if len(logs) == 1 else (f"mean of {len(logs)} runs" if logs else "")
    return LabelContent(
        model=model, task=task.capitalize(), dataset=str(summary.get("dataset") or NA),
        environment=str(summary["environment"]), compound=compound, link=link,
        link_caption=link_caption, cells=_cells(summary, task),
        footer_left=footer_left, footer_right=footer_right)
