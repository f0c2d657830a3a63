"""The scatter's log axes: a range fitted to the points (padded so no marker touches the frame),
grown a little to hold error bars whole, and error bars that run further stopped inside the frame.
Pure functions of numbers: the point layer (:mod:`mlel.elex.points`) calls them once per view."""
from __future__ import annotations

import math

import numpy as np

PAD = 0.06  # of the points' span (log), each side: a marker (the pinned ring: 13 px) clears the frame
MIN_SPAN = 0.05  # decades: one point, or points that nearly coincide, still get an axis (×/÷ 1.06)
REACH = 0.25  # of the points' span: as far as an axis grows to hold an error bar whole
INSIDE = 0.015  # of the axis: where a bar that runs past the axis stops, and its arrow sits


def fitted_range(extent: tuple[float, float], reach: tuple[float, float] | None = None) -> tuple[float, float]:
    """Axis ends (data units) of a log axis over points from ``extent[0]`` to ``extent[1]`` (> 0),
    with PAD on each side; ``reach``: the error bars' lowest and highest end (> 0), held where they
    are at most REACH of the points' span beyond them. Boundaries far from the points do not
    stretch it: the rating bands are clipped to it (a thin strip of points helps nobody)."""
    low, high = math.log10(extent[0]), math.log10(extent[1])
    if high - low < MIN_SPAN:
        middle = (low + high) / 2
        low, high = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
    span = high - low
    start, end = low - PAD * span, high + PAD * span
    if reach is not None:
        start = min(start, max(math.log10(reach[0]), low - REACH * span) - INSIDE * span)
        end = max(end, min(math.log10(reach[1]), high + REACH * span) + INSIDE * span)
    return 10 ** start, 10 ** end


def bar_reach(values: np.ndarray, plus: np.ndarray, minus: np.ndarray) -> tuple[float, float] | None:
    """The lowest and highest end of the error bars that have one (positive ends only), or None."""
    has = (plus > 0) | (minus > 0)
    if not has.any():
        return None
    lows, highs = (values - minus)[has], (values + plus)[has]
    lows = lows[lows > 0]
    low = float(lows.min()) if lows.size else float(values[has].min())
    return min(low, float(values[has].min())), max(float(highs.max()), float(values[has].max()))


def clipped_bars(values: np.ndarray, plus: np.ndarray, minus: np.ndarray,
                 axis_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(plus, minus, past_low, past_high): bars that run past the axis (a log axis: an end ≤ 0 too)
    stop INSIDE of the axis within it; the masks say which, for an arrow that says they go on."""
    low, high = math.log10(axis_range[0]), math.log10(axis_range[1])
    inner_low, inner_high = 10 ** (low + INSIDE * (high - low)), 10 ** (high - INSIDE * (high - low))
    past_low = (minus > 0) & (values - minus < inner_low)
    past_high = (plus > 0) & (values + plus > inner_high)
    minus = np.where(past_low, np.maximum(values - inner_low, 0.0), minus)
    plus = np.where(past_high, np.maximum(inner_high - values, 0.0), plus)
    return plus, minus, past_low, past_high
