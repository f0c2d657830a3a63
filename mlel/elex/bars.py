"""The scatter's error bars: each drawn point's 95% interval (where it pools >= 2 runs), the axis
that holds the bars near the points (:mod:`mlel.elex.axes`), bars stopped at that axis, and the
triangles that say a bar goes on. Rating-independent: the point layer builds them once per view."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlel.base.formatting import format_quantity
from mlel.ratings import NO_REFERENCE
from mlel.elex import axes, entries
from mlel.elex.state import Rating, TaskTable

CONTINUES = "interval goes on"  # the name of the triangles' trace
_TRIANGLES = {("x", False): "triangle-left", ("x", True): "triangle-right",
              ("y", False): "triangle-down", ("y", True): "triangle-up"}


@dataclass(frozen=True)
class AxisBars:
    """One axis's error bars over the drawn rows: as drawn (stopped at the axis) and as computed."""

    plus: np.ndarray  # (k,) drawn length above the point
    minus: np.ndarray  # (k,) below
    has: np.ndarray  # (k,) bool: the row has an interval
    past_low: np.ndarray  # (k,) bool: the interval runs past the axis's low end
    past_high: np.ndarray
    whole_plus: np.ndarray  # the interval's own lengths (where it ends, for the triangles' hover)
    whole_minus: np.ndarray


def value_intervals(table: TaskTable, metric: str) -> dict[int, tuple[float, float]]:
    """Row -> 95% interval of ``metric`` for the rows that pool >= 2 runs; computed once per table."""
    key = ("intervals", metric)
    if key not in table.cache:
        found = {}
        for row, entry in enumerate(table.results):
            if entries.n_runs(entry) > 1 or getattr(entry, "ci95", None):
                interval = entries.value_interval(entry, metric, table.properties[metric].support)
                if interval is not None:
                    found[row] = interval
        table.cache[key] = found
    return table.cache[key]


def error_bars(rating: Rating, rows: np.ndarray, values: np.ndarray, metric: str,
               scale: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(plus, minus, has) of the 95% intervals' asymmetric error bars, where an entry pools >= 2
    runs (``has``: the rows with an interval); None if no row has one."""
    table, column = rating.table, rating.table.column(metric)
    intervals = value_intervals(table, metric)
    if not intervals:
        return None
    higher = bool(table.higher_is_better[column])
    plus, minus, has = np.zeros(len(rows)), np.zeros(len(rows)), np.zeros(len(rows), dtype=bool)
    for i, (row, shown) in enumerate(zip(rows.tolist(), values.tolist())):
        interval = intervals.get(row)
        if interval is not None and scale == "index":  # against the pipeline's reference row (or fixed scale)
            ref_row = int(rating.basis.reference_rows[row])
            reference = rating.basis.against[row, column]
            ref_interval = None if ref_row == NO_REFERENCE else intervals.get(ref_row)
            interval = entries.index_interval(table.values[row, column], interval, float(reference),
                                              ref_interval, higher) if reference == reference else None
        if interval is not None:
            plus[i], minus[i], has[i] = max(0.0, interval[1] - shown), max(0.0, shown - interval[0]), True
    return (plus, minus, has) if has.any() else None


def fitted_axis(rating: Rating, rows: np.ndarray, values: np.ndarray, metric: str, scale: str,
                extent: tuple[float, float] | None) -> tuple[tuple[float, float] | None, AxisBars | None]:
    """The axis over all shown points (``extent``), grown to hold the drawn rows' error bars where
    they end near, and those bars stopped at it. (None, None) where no point is shown."""
    if extent is None:
        return None, None
    found = error_bars(rating, rows, values, metric, scale)
    if found is None:
        return axes.fitted_range(extent), None
    plus, minus, has = found
    axis = axes.fitted_range(extent, axes.bar_reach(values, plus, minus))
    drawn_plus, drawn_minus, past_low, past_high = axes.clipped_bars(values, plus, minus, axis)
    return axis, AxisBars(drawn_plus, drawn_minus, has, past_low, past_high, plus, minus)


def trace_bars(bars: AxisBars | None, start: int, stop: int) -> dict | None:
    """Plotly's error bars of rows ``start:stop`` (one environment's trace); None where none has one."""
    if bars is None or not bars.has[start:stop].any():
        return None
    return {"type": "data", "symmetric": False, "array": bars.plus[start:stop].tolist(),
            "arrayminus": bars.minus[start:stop].tolist(), "color": "#333333", "thickness": 1, "width": 3}


def continuation_traces(rating: Rating, rows: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                        metrics: tuple[str, str], x_bars: AxisBars | None, y_bars: AxisBars | None,
                        scale: str) -> tuple[dict, ...]:
    """One trace of triangles at the ends where bars stop at an axis, pointing the way the interval
    goes on; the hover says where it ends."""
    found: dict[str, list] = {"x": [], "y": [], "symbol": [], "text": []}
    for axis, metric, bars, values, other in (("x", metrics[0], x_bars, xs, ys), ("y", metrics[1], y_bars, ys, xs)):
        if bars is None:
            continue
        prop = rating.table.properties[metric]
        for upward, past, drawn, whole in ((False, bars.past_low, -bars.minus, -bars.whole_minus),
                                           (True, bars.past_high, bars.plus, bars.whole_plus)):
            for i in np.flatnonzero(past).tolist():
                end = float(values[i] + whole[i])
                said = "0 or below" if end <= 0 else f"index {end:.3g}" if scale == "index" else \
                    format_quantity(end, prop.unit)
                at = float(values[i] + drawn[i])
                found["x"].append(at if axis == "x" else float(other[i]))
                found["y"].append(float(other[i]) if axis == "x" else at)
                found["symbol"].append(_TRIANGLES[axis, upward])
                found["text"].append(f"{entries.plotly_text(rating.table.models[int(rows[i])], 60)}: the 95 % "
                                     f"interval of {entries.plotly_text(prop.name)} goes on to {said}")
    if not found["x"]:
        return ()
    return ({"type": "scatter", "mode": "markers", "name": CONTINUES, "showlegend": False,
             "x": found["x"], "y": found["y"], "text": found["text"], "hovertemplate": "%{text}<extra></extra>",
             "marker": {"symbol": found["symbol"], "size": 9, "color": "#333333"}},)
