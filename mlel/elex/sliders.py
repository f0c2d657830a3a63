"""ELEx boundary sliders: a log10 index scale (indices are ratios: 0.9 and 19 both need room)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mlel.ratings.engine import RATINGS
from mlel.elex.state import Rating, remembered


@dataclass(frozen=True)
class SliderSpec:
    min: float
    max: float
    step: float
    value: list[float]  # ascending log10 of b3, b2, b1, b0, clipped to [min, max]
    marks: dict


_NICE = (1, 2, 5)
# A handle is 20 px wide and travels 233 px of a 253 px slider: neighbours closer than 9 % of the
# slider's range sit on each other, and the one below cannot be grabbed.
MIN_GAP = 0.09
SPAN_SHARE = 0.6  # boundaries the slider zooms to fill at most this share of it: room to drag outwards
MIN_WIDTH = 0.02  # decades: the narrowest zoom (×/÷ 1.023 around the boundaries)


def boundary_name(position: int, labels: Sequence[str] = RATINGS) -> str:
    """Boundary b<position> by the levels it parts, in the slider's reading order (worse | better):
    b3 "E|D" … b0 "B|A". The inputs and the messages name a boundary this way."""
    return f"{labels[position + 1]}|{labels[position]}"


def slider_spec(rating: Rating, metric: str) -> SliderSpec:
    """Range, marks and handle positions of the boundary slider of ``metric``: the boundaries and
    the indices' spread, zoomed to the boundaries where their handles would overlap; handles of
    boundaries that (nearly) coincide are drawn apart (:func:`bounds_from_slider` keeps their values)."""
    bounds = list(rating.boundaries.get(metric, (1.0, 1.0, 1.0, 1.0)))
    positive = [b for b in bounds if b > 0 and math.isfinite(b)] or [1.0]
    # the indices' spread depends on the reference and scale only: every move of a slider reuses it
    spread = remembered(rating.table, ("spread", rating.basis_key, metric),
                        lambda: _spread(rating, metric),
                        bucket="slider spreads", limit=64)
    low, high = min(positive + list(spread)), max(positive + list(spread))
    lo, hi = _zoomed(math.log10(low) - 0.05, math.log10(high) + 0.05, sorted(math.log10(b) for b in positive))
    step = 10 ** math.floor(math.log10(max(hi - lo, 1e-6) / 400))
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    value = [min(max(math.log10(b), lo) if b > 0 else lo, hi) for b in reversed(bounds)]
    return SliderSpec(lo, hi, step, _apart(value, MIN_GAP * (hi - lo), lo, hi), slider_marks(lo, hi))


def _zoomed(lo: float, hi: float, positions: Sequence[float]) -> tuple[float, float]:
    """[lo, hi] (log10), narrowed around the boundaries' ``positions`` where their closest pair
    would be less than MIN_GAP of the slider apart; the narrowed range stays inside [lo, hi]."""
    # boundaries that coincide are drawn apart whatever the zoom: the closest pair that differs decides
    closest = min((b - a for a, b in zip(positions, positions[1:]) if b - a > 1e-9), default=hi - lo)
    if closest >= MIN_GAP * (hi - lo):
        return lo, hi
    span = positions[-1] - positions[0]
    width = max(closest / MIN_GAP, span / SPAN_SHARE, MIN_WIDTH)
    if width >= hi - lo:
        return lo, hi
    start = (positions[0] + positions[-1] - width) / 2
    start = min(max(start, lo), hi - width)  # as much of the indices' spread as the width allows
    return start, start + width


def _apart(value: list[float], gap: float, lo: float, hi: float) -> list[float]:
    """Ascending handle positions at least ``gap`` apart, inside [lo, hi]: handles closer than that
    move apart symmetrically about where they were (the mean of pushing up and pushing down)."""
    up, down = list(value), list(value)
    for i in range(1, len(value)):
        up[i] = max(up[i], up[i - 1] + gap)
        down[-1 - i] = min(down[-1 - i], down[-i] - gap)
    moved = [(a + b) / 2 for a, b in zip(up, down)]
    moved[-1] = min(moved[-1], hi)
    for i in range(len(moved) - 2, -1, -1):
        moved[i] = min(moved[i], moved[i + 1] - gap)
    moved[0] = max(moved[0], lo)
    for i in range(1, len(moved)):
        moved[i] = max(moved[i], moved[i - 1] + gap)
    return moved


def _spread(rating: Rating, metric: str) -> tuple[float, ...]:
    """The 1st and 99th percentile of the metric's positive indices (none: empty)."""
    column = rating.indices[:, rating.table.column(metric)]
    finite = column[np.isfinite(column) & (column > 0)]
    return (float(np.quantile(finite, 0.01)), float(np.quantile(finite, 0.99))) if finite.size else ()


def slider_marks(lo: float, hi: float) -> dict:
    """Readable index values as marks on a log10 slider: linear ticks inside one decade, else
    1-2-5 per decade (or only the powers of ten when that gets crowded)."""
    marks = {}
    if hi - lo < 1.0:
        low, high = 10 ** lo, 10 ** hi
        raw = (high - low) / 5
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(n * magnitude for n in (1, 2, 5, 10) if n * magnitude >= raw)
        tick = math.ceil(low / step) * step
        while tick <= high:
            if tick > 0:
                marks[round(math.log10(tick), 6)] = f"{tick:.6g}"
            tick = round(tick + step, 12)
        return marks
    for exponent in range(math.floor(lo) - 1, math.ceil(hi) + 1):
        for nice in _NICE:
            position = math.log10(nice) + exponent
            if lo <= position <= hi:
                marks[round(position, 6)] = f"{nice * 10.0 ** exponent:g}"
    if len(marks) > 9:
        marks = {p: t for p, t in marks.items() if t.lstrip("0.").startswith("1")}
    return marks


def bounds_from_slider(value: Sequence[float], current: Sequence[float], spec: SliderSpec) -> list[float]:
    """Slider handles (ascending log10) -> boundaries b0..b3. A handle that did not move keeps its
    exact boundary, so dragging one handle never nudges the other three by rounding."""
    current_positions = spec.value[::-1]  # b0..b3
    new_positions = sorted(value, reverse=True)
    result = []
    for bound, old, new in zip(current, current_positions, new_positions):
        result.append(bound if abs(new - old) < spec.step / 2 else float(10 ** new))
    for i in range(1, 4):  # handles may meet, never cross: keep b0 >= b1 >= b2 >= b3
        result[i] = min(result[i], result[i - 1])
    return result

