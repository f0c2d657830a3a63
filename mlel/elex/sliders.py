"""ELEx boundary sliders: a log10 index scale (indices are ratios: 0.9 and 19 both need room)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mlel.elex.state import Rating, remembered


@dataclass(frozen=True)
class SliderSpec:
    min: float
    max: float
    step: float
    value: list[float]  # ascending log10 of b3, b2, b1, b0, clipped to [min, max]
    marks: dict


_NICE = (1, 2, 5)


def slider_spec(rating: Rating, metric: str) -> SliderSpec:
    """Range, marks and handle positions of the boundary slider of ``metric``."""
    bounds = list(rating.boundaries.get(metric, (1.0, 1.0, 1.0, 1.0)))
    positive = [b for b in bounds if b > 0 and math.isfinite(b)] or [1.0]
    # the indices' spread depends on the reference and scale only: every move of a slider reuses it
    spread = remembered(rating.table, ("spread", rating.basis_key, metric),
                        lambda: _spread(rating, metric),
                        bucket="slider spreads", limit=64)
    low, high = min(positive + list(spread)), max(positive + list(spread))
    lo, hi = math.log10(low) - 0.05, math.log10(high) + 0.05
    step = 10 ** math.floor(math.log10(max(hi - lo, 1e-6) / 400))
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    value = [min(max(math.log10(b), lo) if b > 0 else lo, hi) for b in reversed(bounds)]
    return SliderSpec(lo, hi, step, value, slider_marks(lo, hi))


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

