"""Numbers out of JSON — one rule for every reader: a real number (not a bool), as a float that fits.

``finite_float`` is what labels, tables and checks want (NaN, ±inf and ints too large for a float are
not values); ``as_float`` keeps infinities for callers that name them as problems themselves.
"""
from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence

from mlel.base.units import NONNEGATIVE_TERMS, unit_parts


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
    if not listed or len(raw) != 4 or not all(is_number(b) for b in raw):  # bools are not numbers
        return f"boundaries must be four numbers b0 ≥ b1 ≥ b2 ≥ b3, got {shown}"
    values = [as_float(b) for b in raw]
    if not all(v is not None and math.isfinite(v) for v in values):
        return f"boundaries must be finite numbers, got {shown}"
    if any(v < 0 for v in values) or not values[0] > 0:  # an index is a ratio of positive values
        return f"boundaries are index values: positive (b3 may be 0), got {shown}"
    if any(a < b for a, b in zip(values, values[1:])):
        return f"boundaries must descend (b0 ≥ b1 ≥ b2 ≥ b3), got {shown}"
    return None


# one strict reading of a number written as text (CSV cells, CLI and settings values): ASCII digits,
# an optional sign, point and exponent — no "1_000", no Arabic-Indic digits, no "inf"/"nan", no bool
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def parse_number(raw) -> float | None:
    """The finite float ``raw`` stands for — a real number (not a bool), or text strictly of the form
    ``[+-]digits[.digits][e[+-]digits]`` (surrounding spaces allowed) — else None. The one parser of
    numbers written as text: Python's ``float()`` also takes ``1_000``, ``١٢``, ``inf`` and ``nan``."""
    if isinstance(raw, str):
        text = raw.strip()
        if not _NUMBER_TEXT.fullmatch(text):
            return None
        number = float(text)
        return number if math.isfinite(number) else None
    return finite_float(raw)


def number_problem(raw) -> str | None:
    """Why ``raw`` is not a finite number as :func:`parse_number` reads it (None: it is one)."""
    if parse_number(raw) is not None:
        return None
    if isinstance(raw, bool):
        return f"a boolean is not a number, got {raw!r}"
    return f"not a finite number: {raw!r:.60}"


def nonnegative_problem(value) -> str | None:
    """The one rule for an energy, a time or a power (merged logs' and records' alike): a finite
    number ≥ 0 (None: fine)."""
    number = finite_float(value)
    if number is None:
        return "not a finite number"
    return "must be ≥ 0" if number < 0 else None


def quantity_problem(value, unit: str) -> str | None:
    """What is wrong with ``value`` of a property in ``unit`` (None: nothing): an energy, a time or a
    power (:data:`mlel.base.units.NONNEGATIVE_TERMS` above the unit's "/") cannot be negative."""
    if value is None or not value < 0:  # the cheap test first: 100,000 records
        return None
    if not any(term in NONNEGATIVE_TERMS for term in unit_parts(unit).numerator):
        return None
    return f"must be ≥ 0 (an energy, time or power in {unit!r}), got {value!r}"
