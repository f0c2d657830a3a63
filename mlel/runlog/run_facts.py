"""What a merged log says about *how* a run was measured — the facts that decide which runs pool
(their configuration) and whether a run can be graded (warm-up, each power source's window).

Pure functions over plain values, shared by the reader of merged logs (:mod:`mlel.runlog.logs`) and by
merge's record branch (:mod:`mlel.runlog.record_merge`, a recorded experiment's ``window``), so both
routes give the same facts.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from mlel.base.values import finite_float, is_number
from mlel.monitoring.sources import GPU_INTERVAL_SOURCES
from mlel.results.record import SourceWindow  # one type: a record carries the same windows (its ``window``)

# Config settings that change what is measured: runs differing in any of them never pool.
POOL_KEYS = ("dataset", "num_classes", "input_size", "batch_size", "precision")
_UNTRAINED = frozenset({"random", "none", "untrained", "scratch"})


def weights_kind(weights: Any, infer_model: Any) -> str | None:
    """'untrained', 'pretrained' or 'trained' (a weights file, or a trained run folder as the model);
    None where the log does not say (the 2022 logs). Never the path itself: seeds must pool."""
    if isinstance(weights, str) and weights:
        lowered = weights.lower()
        if lowered in _UNTRAINED:
            return "untrained"
        return "pretrained" if lowered == "pretrained" else "trained"
    if isinstance(infer_model, str) and ("/" in infer_model or "\\" in infer_model):
        return "trained"
    return None


def configuration_of(setting: Callable[[str], Any]) -> tuple[tuple[str, str], ...]:
    """The pooling key of a run from its config (``setting(key)`` -> value or None): sorted
    (key, text) pairs of the settings present, plus the kind of weights."""
    pairs = []
    for key in POOL_KEYS:
        value = setting(key)
        if isinstance(value, str) or is_number(value):
            pairs.append((key, str(value)))
    kind = weights_kind(setting("weights"), setting("infer_model"))
    if kind:
        pairs.append(("weights", kind))
    return tuple(sorted(pairs))


def devices_of(value: Any) -> tuple[str, ...]:
    """A data-parallel run's devices (config ``devices``, e.g. ["cpu", "cpu"]): strings only."""
    return tuple(value) if isinstance(value, list) and all(isinstance(d, str) for d in value) else ()


def warmup_of(value: Any) -> int | None:
    """Warm-up batches recorded by infer.py (None where the log does not say)."""
    number = finite_float(value)
    return int(number) if number is not None and number >= 0 and number == int(number) else None


def windows_of(totals: Iterable[tuple[str, Any, Any]], gpu_interval_s: Any, cpu_interval_s: Any
               ) -> tuple[SourceWindow, ...]:
    """Each power source's window from its ``(source, total_duration, nr_measurements)``."""
    windows = []
    for source, duration, samples in totals:
        count = finite_float(samples)
        interval = gpu_interval_s if source in GPU_INTERVAL_SOURCES else cpu_interval_s
        windows.append(SourceWindow(
            source, finite_float(duration),
            int(count) if count is not None and count >= 0 and count == int(count) else None,
            finite_float(interval)))
    return tuple(windows)


def source_totals(summaries: Mapping[str, Any], counted: Iterable[str]) -> list[tuple[str, Any, Any]]:
    """``(source, total_duration, nr_measurements)`` of each counted source from its SPEC §3 summary
    (``summaries``: source -> summary or None), as :func:`windows_of` takes them."""
    totals = []
    for name in counted:
        summary = summaries.get(name)
        total = summary.get("total") if isinstance(summary, dict) else None
        total = total if isinstance(total, dict) else {}
        totals.append((name, total.get("total_duration"), total.get("nr_measurements")))
    return totals
