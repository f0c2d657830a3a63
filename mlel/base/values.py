"""Numbers out of JSON — one rule for every reader: a real number (not a bool), as a float that fits.

``finite_float`` is what labels, tables and checks want (NaN, ±inf and ints too large for a float are
not values); ``as_float`` keeps infinities for callers that name them as problems themselves.
"""
from __future__ import annotations

import math
import numbers


def is_number(value) -> bool:
    """A real number (int, float or numpy scalar), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


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
