"""Unit conversion of property values (mlel.importers.property_units)."""
from __future__ import annotations

import pytest

from mlel.base import units
from mlel.importers.property_units import UnitError, convert, parse_unit


@pytest.mark.parametrize("value, source, target, expected", [
    (1.0, "kWh", "J", units.J_PER_KWH),
    (2.0, "Wh", "kJ", 7.2),
    (1.0, "kWh", "Ws / sample", units.J_PER_KWH),  # a plain energy is taken as per sample already
    (0.002, "s", "ms / sample", 2.0),
    (3.0, "Wh/1000 queries", "J/query", 10.8),
    (1500.0, "ms", "s", 1.5),
    (2.0, "h", "s", 7200.0),
    (50.0, "%", "fraction", 0.5),
    (25.6, "M", "billion", 0.0256),
    (1.0, "GiB", "B", 1024.0 ** 3),
    (3.0, "mW", "W", 0.003),
    (7.0, "kWh / epoch", "J/epoch", 7 * units.J_PER_KWH),
    (120.0, "tokens/min", "tokens/s", 2.0),
    (0.9, "nats", "nats / sample", 0.9),  # a negative log-likelihood (issue 28), already per sample
    (1.0, "bits", "nats / sample", 0.6931471805599453),  # log base 2 -> natural log
])
def test_conversions(value, source, target, expected):
    assert convert(value, source, target) == pytest.approx(expected)


@pytest.mark.parametrize("source, target", [
    ("ms", "J"),              # different quantities
    ("J/token", "J/image"),   # per different things
    ("fraction", "M"),        # a ratio is not a count
    ("kWh", "W"),
])
def test_incompatible_units_raise(source, target):
    with pytest.raises(UnitError):
        convert(1.0, source, target)


@pytest.mark.parametrize("text", ["J/s/token", "parsec$", "J/0 token"])
def test_unreadable_units_raise(text):
    with pytest.raises(UnitError):
        parse_unit(text)


def test_plurals_fold_and_scales_multiply():
    assert parse_unit("tokens/s") == parse_unit("token / s")
    assert parse_unit("Wh/1000 queries").scale == pytest.approx(units.J_PER_WH / 1000)
