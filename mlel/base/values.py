"""Numbers out of JSON — one rule for every reader: a real number (not a bool), as a float that fits.

``finite_float`` is what labels, tables and checks want (NaN, ±inf and ints too large for a float are
not values); ``as_float`` keeps infinities for callers that name them as problems themselves.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence


def is_number(value) -> bool:
    """A real number (int, float or numpy scalar), not a bool."""
    kind = type(value)
    if kind is float or kind is int:  # what JSON gives: answered before the slower ABC check
        return True
    return kind is not bool and isinstance(value, numbers.Real)


def as_float(value) -> float | None:
    """The float of a real number; None for anything else, or an int too large for a float."""
    if not is_number(value):
        return None
    try:
        return float(value)
    except (OverflowError, ValueError):
        return None


def finite_float(value) -> float | None:
    """A finite float, or None for None, bools, non-numbers, NaN, ±inf and ints too big for a float."""
    number = as_float(value)
    return number if number is not None and math.isfinite(number) else None


def boundaries_problem(raw) -> str | None:
    """What is wrong with rating boundaries b0..b3 on the index scale, or None when they are fine:
    four finite numbers, none negative, b0 > 0, descending b0 ≥ b1 ≥ b2 ≥ b3. One rule for property
    sets, settings files and ELEx; callers put the file and key in front of the words."""
    listed = isinstance(raw, Sequence) and not isinstance(raw, (str, bytes))
    shown = f"{list(raw)!r:.100}" if listed else f"{raw!r:.100}"
    if not listed or len(raw) != 4 or not all(is_number(b) for b in raw):
        return f"boundaries must be four numbers b0 ≥ b1 ≥ b2 ≥ b3, got {shown}"
    values = [as_float(b) for b in raw]
    if not all(v is not None and math.isfinite(v) for v in values):
        return f"boundaries must be finite numbers, got {shown}"
    if any(v < 0 for v in values) or not values[0] > 0:  # an index is a ratio of positive values
        return f"boundaries are index values: positive (b3 may be 0), got {shown}"
    if any(a < b for a, b in zip(values, values[1:])):
        return f"boundaries must descend (b0 ≥ b1 ≥ b2 ≥ b3), got {shown}"
    return None
