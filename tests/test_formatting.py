"""mlel.base.formatting: values with the unit and prefix a person reads at a glance, "n.a." when missing."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mlel.base.formatting import NA, format_number, format_percent, format_quantity
from mlel.base.units import unit_parts


@pytest.mark.parametrize("value, unit, text", [
    # the examples of issue 14 (9.43e-05 kWh is 0.0943 Wh)
    (9.43e-05, "kWh", "94.3 mWh"), (0.00679, "h", "24.4 s"), (21460000, "B", "21.5 MB"),
    (0.8441, "fraction", "84.4 %"),
    # every unit of the metric table (SPEC §4), keeping what comes after the slash as written
    (25.557032, "M", "25.6 M"), (7000, "M", "7 B"), (0.00053, "M", "530"), (0.12, "M", "120 k"),
    (0.402, "GFLOPs / sample", "402 MFLOPs / sample"), (15.5, "GFLOPs / sample", "15.5 GFLOPs / sample"),
    (0.877, "Ws / sample", "877 mJ / sample"), (1.87, "ms / sample", "1.87 ms / sample"),
    (0.4, "ms / sample", "400 µs / sample"),
    (0.247, "kWh / epoch", "247 Wh / epoch"), (22.2, "kWh", "22.2 kWh"), (1234.5, "kWh", "1.23 MWh"),
    (0.246, "h / epoch", "14.8 min / epoch"), (22.2, "h", "22.2 h"), (50000, "h", "50,000 h"),
    (3.0 / 3600, "h", "3 s"),
    # units of imported results
    (0.699, "J/token", "699 mJ/token"), (2.5e4, "J/image", "25 kJ/image"), (87.0, "ms", "87 ms"),
    (5400, "s", "1.5 h"), (75, "s", "1.25 min"), (12345.6, "tokens/s", "12,346 tokens/s"),
    (350.0, "W", "350 W"), (0.02, "W", "20 mW"), (42.0, "%", "42.0 %"),
    # rounding that would read "1,000 mJ" moves up a prefix; beyond the last prefix: separators
    (0.99996, "J", "1 J"), (999.96, "ms", "1 s"), (5e18, "B", "5,000,000 TB"),
    # below the smallest prefix: an exponent rather than "0"
    (1e-12, "J", "1.00e-06 µJ"),
    (0, "kWh", "0 kWh"), (-2.5, "W", "-2.5 W"), (3, "", "3"), (7.25, "samples/s", "7.25 samples/s"),
])
def test_format_quantity(value, unit, text):
    assert format_quantity(value, unit) == text


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf, True, "3", [1], 10 ** 400])
def test_missing_or_unusable_values_read_na(value):
    assert format_quantity(value, "kWh") == NA
    assert format_number(value) == NA
    assert format_percent(value) == NA


def test_numpy_scalars_are_numbers():
    assert format_quantity(np.float64(0.00679), "h") == "24.4 s"
    assert format_quantity(np.int64(21460000), "B") == "21.5 MB"


@pytest.mark.parametrize("value, text", [
    (0.8765499870251905, "0.877"), (1.8700087785720825, "1.87"), (22.218044889739705, "22.2"),
    (123.4, "123"), (99.96, "100"), (999.7, "1,000"), (12345.6, "12,346"), (0.000123, "1.23e-04"),
    (0.0, "0"), (-2.5, "-2.5"), (2e17, "2.00e+17")])
def test_format_number(value, text):
    assert format_number(value) == text


def test_format_percent():
    assert format_percent(0.7773637820512821) == "77.7 %"
    assert format_percent(1.0) == "100.0 %"


@pytest.mark.parametrize("unit, parts", [
    ("Ws / sample", ("Ws", " / sample")), ("J/token", ("J", "/token")), ("kWh", ("kWh", "")),
    ("", ("", ""))])
def test_symbol_and_rest_as_written(unit, parts):
    assert (unit_parts(unit).symbol, unit_parts(unit).rest) == parts


# --- the one unit parser (mlel.base.units.unit_parts): display, merge and imports all read units here

from hypothesis import given, strategies as st  # noqa: E402



@pytest.mark.parametrize("unit, numerator, denominator, symbol, rest", [
    ("J / token", ("J",), ("token",), "J", " / token"),
    ("kWh / epoch", ("kWh",), ("epoch",), "kWh", " / epoch"),
    ("ms/sample", ("ms",), ("sample",), "ms", "/sample"),
    ("tokens/s", ("tokens",), ("s",), "tokens", "/s"),
    ("Wh/1000 queries", ("Wh",), ("1000", "queries"), "Wh", "/1000 queries"),
    ("GFLOPs * s·W", ("GFLOPs", "s", "W"), (), "GFLOPs * s·W", ""),
    ("fraction", ("fraction",), (), "fraction", ""),
    ("", (), (), "", ""),
])
def test_unit_parts_are_typed(unit, numerator, denominator, symbol, rest):
    parts = unit_parts(unit)
    assert (parts.numerator, parts.denominator, parts.symbol, parts.rest) == (numerator, denominator, symbol, rest)
    assert parts.per == ("/" in unit)


def test_every_stated_unit_reads_the_same_in_display_merge_and_imports():
    from mlel.importers.property_units import parse_unit
    from mlel.tasks.properties import builtin_tasks

    for prop in (p for task in builtin_tasks().values() for p in task.properties):
        parts = unit_parts(prop.unit)  # one word a side: merge derives it from a logged count
        assert parts.slashes <= 1 and len(parts.denominator) <= 1 and parts.symbol + parts.rest == prop.unit
        parse_unit(prop.unit)  # and imports convert it


@given(st.text(alphabet="JkWhms /*·\t1token", max_size=30))
def test_unit_parts_never_lose_or_invent_text(unit):
    parts = unit_parts(unit)
    assert parts.slashes == unit.count("/")
    head = unit.partition("/")[0]
    assert parts.symbol == head.strip() and (not parts.per or head.rstrip() + parts.rest == unit)
    for term in parts.numerator + parts.denominator:
        assert term and not any(c in term for c in " \t*·")
    assert "".join(parts.numerator) == "".join(c for c in head if c not in " \t*·")
