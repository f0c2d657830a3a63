"""What the label says: one rated summary (SPEC §5/§7) -> plain records of ready-to-draw text.

Pure functions, no drawing: the texts can be tested and reused (ELEx, reports) on their own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from mlel.labels.qr import PROJECT_URL, label_link, paper_link
from mlel.logs import SOURCE_DEVICES
from mlel.metrics import LABEL_METRICS
from mlel.ratings import RATINGS

NA = "n.a."
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


def format_number(value: float | None) -> str:
    """Three significant digits, no exponent for everyday magnitudes; missing -> "n.a."."""
    if value is None or not math.isfinite(value):
        return NA
    magnitude = abs(value)
    if magnitude >= 999.5:
        return f"{value:,.0f}"
    if magnitude >= 99.95:
        return f"{value:.0f}"
    if 0 < magnitude < 1e-3:
        return f"{value:.2e}"
    return f"{value:.3g}"


def format_value(value: float | None, unit: str = "") -> str:
    """A figure with its unit; a missing one reads just "n.a."."""
    text = format_number(value)
    return text if text == NA or not unit else f"{text} {unit}"


def format_percent(fraction: float | None) -> str:
    if fraction is None or not math.isfinite(fraction):
        return NA
    return f"{fraction * 100:.1f} %"


def format_sources(sources: Mapping[str, str] | None, estimated: bool = False) -> tuple[str, bool]:
    """("Sources: GPU, CPU" | "Sources: CPU (estimated)", any estimated) from energy.sources."""
    parts, any_estimated = [], bool(estimated)
    for name, status in (sources or {}).items():
        device = SOURCE_DEVICES.get(name, name)
        is_estimated = status == "estimated" or name == "estimate"
        any_estimated |= is_estimated
        parts.append((device, f"{device} (estimated)" if is_estimated else device))
    parts.sort(key=lambda p: (_DEVICE_ORDER.index(p[0]) if p[0] in _DEVICE_ORDER else len(_DEVICE_ORDER), p[1]))
    texts = list(dict.fromkeys(text for _, text in parts))  # e.g. two GPU sources: one "GPU"
    if not texts:
        return f"Sources: {NA}", any_estimated
    if any_estimated and not any("estimated" in t for t in texts):
        texts[-1] += " (estimated)"  # the summary says estimated though no source does
    return "Sources: " + ", ".join(texts), any_estimated


def _metric(summary: Mapping, key: str) -> tuple[float | None, str]:
    entry = (summary.get("metrics") or {}).get(key) or {}
    value = entry.get("value")
    rating = entry.get("rating")
    value = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return value, rating if rating in RATINGS else "E"  # SPEC §5: missing -> E


def _cells(summary: Mapping, task: str) -> tuple[Cell, Cell, Cell, Cell]:
    power_key, time_key, accuracy_key, size_key = LABEL_METRICS[task]
    energy = summary.get("energy") or {}
    sources, estimated = format_sources(energy.get("sources"), bool(energy.get("estimated")))
    power, power_rating = _metric(summary, power_key)
    runtime, time_rating = _metric(summary, time_key)
    top1, accuracy_rating = _metric(summary, accuracy_key)
    top5, _ = _metric(summary, "top5_val")
    parameters, size_rating = _metric(summary, size_key)
    gflops, _ = _metric(summary, "gflops")
    if task == "inference":
        total_ws = energy.get("total_ws")
        run_total = format_value(total_ws / 3600 if isinstance(total_ws, (int, float)) else None, "Wh")
        throughput = 1000 / runtime if runtime else None
        power_cell = Cell("power", power_rating, "Power draw", format_value(power, "Ws"), "per sample",
                          f"Whole run: {run_total}", sources, estimated)
        time_cell = Cell("runtime", time_rating, "Runtime", format_value(runtime, "ms"), "per sample",
                         f"Throughput: {format_value(throughput, 'samples/s')}")
    else:
        epoch_energy, _ = _metric(summary, "train_power_draw_epoch")
        epoch_time, _ = _metric(summary, "train_time_epoch")
        power_cell = Cell("power", power_rating, "Power draw", format_value(power, "kWh"), "full training",
                          f"Per epoch: {format_value(epoch_energy, 'kWh')}", sources, estimated)
        time_cell = Cell("runtime", time_rating, "Runtime", format_value(runtime, "h"), "full training",
                         f"Per epoch: {format_value(epoch_time, 'h')}")
    accuracy_cell = Cell("accuracy", accuracy_rating, "Accuracy", format_percent(top1), "top-1",
                         f"Top-5: {format_percent(top5)}")
    size_cell = Cell("size", size_rating, "Model size", format_value(parameters, "M"), "parameters",
                     f"Operations: {format_value(gflops, 'GFLOPs')}")
    return power_cell, time_cell, accuracy_cell, size_cell


def label_content(summary: Mapping, link: str | None = None) -> LabelContent:
    """The label's texts from one rated summary. Raises ValueError naming a missing field."""
    if not isinstance(summary, Mapping):
        raise ValueError(f"a label needs a rated summary (dict), not {type(summary).__name__}")
    for key in ("task", "model", "environment", "compound", "metrics"):
        if key not in summary:
            raise ValueError(f"not a rated summary: missing field '{key}'")
    task = summary["task"]
    if task not in LABEL_METRICS:
        raise ValueError(f"unknown task '{task}'; known: {', '.join(LABEL_METRICS)}")
    compound = summary["compound"]
    if compound not in RATINGS:
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
    logs = summary.get("logs") or []
    footer_right = logs[0] if len(logs) == 1 else (f"mean of {len(logs)} runs" if logs else "")
    return LabelContent(
        model=model, task=task.capitalize(), dataset=str(summary.get("dataset") or NA),
        environment=str(summary["environment"]), compound=compound, link=link,
        link_caption=link_caption, cells=_cells(summary, task),
        footer_left=footer_left, footer_right=footer_right)
