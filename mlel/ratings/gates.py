"""Validity gates: may a run's measurement carry a grade? (issue 13)

A grade is a claim about energy and time; a measurement too short, too thinly sampled, with gaps,
or that includes the warm-up cannot support it. Each gate is a pure check of one run record; the
first that fails gives the reason the run is shown "not graded: <reason>" (kept, never rated).

Thresholds (chosen, and why):

- **Window ≥ 1 s** per power source (``MIN_WINDOW_S``): below a second, start/stop latency of the
  meters and the first batches dominate; the 2022 runs measured 34 s or more.
- **≥ 5 independent power samples** per source (``MIN_SAMPLES``): a sample counts only as often as
  its sensor refreshes — NVML's power reading is refreshed about every 100 ms
  (:mod:`mlel.monitoring.sources`), so sampling it faster adds no information. The 2022 runs have ≥ 170.
- **No monitoring gaps**: a source must hold at least half the samples its window and sampling
  interval promise (``MIN_COVERAGE``); fewer means the monitor stalled or lost samples. (Merged
  logs keep each source's totals, not every timestamp: a gap is seen in the count. A source's
  total counts the samples of all its devices, so this check errs on the lenient side.)
- **Warm-up excluded**: an inference run that records ``warmup: 0`` measured its first (compiling,
  caching) batch. Logs that do not record it (the 2022 study's) are not refused for that: their
  windows are long enough that one batch is noise.

One rule, two routes: :func:`gate_reason` gates a merged log's run (:mod:`mlel.ratings.pooling`) and,
through :func:`record_gate_reason`, a result record that carries its ``window`` (a recorded
experiment, :mod:`mlel.ratings.rated`). A record without one (values reported by another tool, or
merged before windows were kept) cannot be checked: it stays graded and says so
(:func:`unchecked_window_note`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple, Sequence

from mlel.monitoring.sources import sensor_refresh_s
from mlel.runlog.recorded import TOOL as RECORDED_TOOL

MIN_WINDOW_S = 1.0
MIN_SAMPLES = 5
MIN_COVERAGE = 0.5


@dataclass(frozen=True)
class Gates:
    """Thresholds of the validity gates (defaults above)."""

    min_window_s: float = MIN_WINDOW_S
    min_samples: int = MIN_SAMPLES
    min_coverage: float = MIN_COVERAGE


DEFAULT_GATES = Gates()


def effective_samples(samples: int, window_s: float, source: str) -> float:
    """Samples that carry information: no more than the sensor's refreshes in the window."""
    refresh = sensor_refresh_s(source)
    return float(samples) if refresh is None else min(float(samples), window_s / refresh)


def _window_reason(window: Any, gates: Gates) -> str | None:
    source, duration, samples, interval = window.source, window.duration_s, window.samples, window.interval_s
    if duration is not None and duration < gates.min_window_s:
        return f"{source} measured {duration:.3g} s (minimum {gates.min_window_s:g} s)"
    if samples is None or duration is None:
        return None
    if effective_samples(samples, duration, source) < gates.min_samples:
        return (f"{source}: {samples} power sample(s) in {duration:.3g} s "
                f"(minimum {gates.min_samples} independent samples)")
    if interval and interval > 0 and samples < gates.min_coverage * duration / interval:
        return (f"{source}: monitoring gap, {samples} samples in {duration:.3g} s at one per "
                f"{interval:g} s (expected ≈ {duration / interval:.0f})")
    return None


def gate_reason(run: Any, gates: Gates = DEFAULT_GATES) -> str | None:
    """Why ``run`` cannot be graded, or None when it can. ``run`` has ``task``, ``warmup``,
    ``windows`` (each source's :class:`mlel.results.record.SourceWindow`) and ``duration_s``: a
    :class:`mlel.runlog.logs.RunLog`, or a record's window as :func:`record_gate_reason` passes it."""
    if run.task == "inference" and run.warmup == 0:
        return "warm-up measured (warmup 0): the first, compiling batch is in the window"
    windows = run.windows
    for window in windows:
        reason = _window_reason(window, gates)
        if reason:
            return reason
    if run.duration_s is not None and run.duration_s < gates.min_window_s:  # the results window
        return f"measured {run.duration_s:.3g} s (minimum {gates.min_window_s:g} s)"
    return None


class _RecordRun(NamedTuple):
    """A record's window in the shape :func:`gate_reason` reads (a record says nothing of warm-up)."""

    task: str
    warmup: int | None
    windows: Sequence[Any]
    duration_s: float | None


def record_gate_reason(record: Any, gates: Gates | None = DEFAULT_GATES) -> str | None:
    """Why a result record (:class:`mlel.results.ResultRecord`) cannot be graded, by the same rule
    as a merged log's run; None when it can, when ``gates`` is None, or when it carries no window
    (nothing to check: see :func:`unchecked_window_note`)."""
    window = record.window
    if window is None or gates is None:
        return None
    return gate_reason(_RecordRun(record.task, None, window.sources, window.duration_s), gates)


def record_facts(record: Any, gates: Gates | None = DEFAULT_GATES) -> dict[str, str | None]:
    """What the gates make of a record, as its entry's fields: ``not_graded`` (the one rule, where it
    carries a window) and ``window_unchecked`` (where it carries none: it stays graded, and says so)."""
    if record.window is None:
        return {"not_graded": None, "window_unchecked": unchecked_window_note(record.provenance.tool)}
    return {"not_graded": record_gate_reason(record, gates), "window_unchecked": None}


def pooled_facts(records: Sequence[Any], gates: Gates | None = DEFAULT_GATES) -> dict[str, str | None]:
    """:func:`record_facts` of an entry pooled from records: the failing ones' note, the first
    unchecked window's note."""
    facts = [record_facts(record, gates) for record in records]
    return {"not_graded": gate_note([f["not_graded"] for f in facts if f["not_graded"]]),
            "window_unchecked": next((f["window_unchecked"] for f in facts if f["window_unchecked"]), None)}


@lru_cache(maxsize=256)  # a few tools per directory, 100,000 records
def unchecked_window_note(tool: str) -> str:
    """What a record without a window says in its rated summary: the gates could not check it."""
    if tool == RECORDED_TOOL:  # a recorded experiment merged before records kept their window
        return "window not checked: this MLEE record has no measurement window (merge its run folder again)"
    return f"window not checked: {tool} does not report its measurement window"


def gate_note(reasons: Sequence[str]) -> str | None:
    """The not-graded note of an entry pooled from runs (or records) that failed: one reason, or how
    many failed and the first."""
    if not reasons:
        return None
    return reasons[0] if len(reasons) == 1 else f"{len(reasons)} runs, e.g. {reasons[0]}"
