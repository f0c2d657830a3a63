"""Values for people to read: one formatter for labels, ELEx, tables and reports.

``format_quantity(value, unit)`` takes a value in the unit a metric table states ("kWh / epoch",
"Ws / sample", "B", "M", "fraction", "J/token", …) and shows it with the SI prefix or the everyday
unit that keeps three significant digits readable: ``9.43e-05 kWh`` -> ``94.3 mWh``,
``0.00679 h`` -> ``24.4 s``, ``21460000 B`` -> ``21.5 MB``, ``0.8441 fraction`` -> ``84.4 %``.
A missing or unusable value reads ``n.a.``. Only for display: JSON keeps the raw numbers.
"""
from __future__ import annotations


from mlel.base.units import J_PER_KWH, J_PER_WH, S_PER_H, unit_parts
from mlel.base.values import finite_float

NA = "n.a."
SIGNIFICANT_DIGITS = 3

# Families of units of one quantity, ascending: (symbol, size in the family's base unit).
_ENERGY_J = (("µJ", 1e-6), ("mJ", 1e-3), ("J", 1.0), ("kJ", 1e3), ("MJ", 1e6), ("GJ", 1e9))
_ENERGY_WH = (("mWh", J_PER_WH / 1e3), ("Wh", J_PER_WH), ("kWh", J_PER_KWH), ("MWh", J_PER_KWH * 1e3),
              ("GWh", J_PER_KWH * 1e6))
_POWER = (("mW", 1e-3), ("W", 1.0), ("kW", 1e3), ("MW", 1e6))
# hours stay the largest: training budgets are spoken of in (GPU) hours, not days
_TIME = (("µs", 1e-6), ("ms", 1e-3), ("s", 1.0), ("min", 60.0), ("h", S_PER_H))
_BYTES = (("B", 1.0), ("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12))
_COUNT = (("", 1.0), ("k", 1e3), ("M", 1e6), ("B", 1e9), ("T", 1e12))  # parameters: 25.6 M, 7 B
_FLOPS = (("FLOPs", 1.0), ("kFLOPs", 1e3), ("MFLOPs", 1e6), ("GFLOPs", 1e9), ("TFLOPs", 1e12),
          ("PFLOPs", 1e15))

# A stated unit symbol -> (its family, its size in the family's base unit). "Ws" is a joule.
_STATED = {
    "J": (_ENERGY_J, 1.0), "Ws": (_ENERGY_J, 1.0), "mJ": (_ENERGY_J, 1e-3), "kJ": (_ENERGY_J, 1e3),
    "MJ": (_ENERGY_J, 1e6),
    "mWh": (_ENERGY_WH, J_PER_WH / 1e3), "Wh": (_ENERGY_WH, J_PER_WH), "kWh": (_ENERGY_WH, J_PER_KWH),
    "MWh": (_ENERGY_WH, J_PER_KWH * 1e3),
    "mW": (_POWER, 1e-3), "W": (_POWER, 1.0), "kW": (_POWER, 1e3),
    "µs": (_TIME, 1e-6), "us": (_TIME, 1e-6), "ms": (_TIME, 1e-3), "s": (_TIME, 1.0),
    "min": (_TIME, 60.0), "h": (_TIME, S_PER_H),
    "B": (_BYTES, 1.0), "bytes": (_BYTES, 1.0), "kB": (_BYTES, 1e3), "MB": (_BYTES, 1e6),
    "GB": (_BYTES, 1e9),
    "M": (_COUNT, 1e6),  # parameters in millions (SPEC §4)
    "FLOPs": (_FLOPS, 1.0), "MFLOPs": (_FLOPS, 1e6), "GFLOPs": (_FLOPS, 1e9), "TFLOPs": (_FLOPS, 1e12),
}
_FRACTION_UNITS = ("fraction",)
_PERCENT_UNITS = ("%", "percent")


def format_number(value) -> str:
    """Three significant digits, thousands separated, no exponent for everyday magnitudes;
    missing -> "n.a."."""
    number = finite_float(value)
    if number is None:
        return NA
    magnitude = abs(number)
    if magnitude >= 1e15:
        return f"{number:.{SIGNIFICANT_DIGITS - 1}e}"
    if magnitude >= 999.5:
        return f"{number:,.0f}"
    if magnitude >= 99.95:
        return f"{number:.0f}"
    if 0 < magnitude < 1e-3:
        return f"{number:.{SIGNIFICANT_DIGITS - 1}e}"
    return f"{number:.{SIGNIFICANT_DIGITS}g}"


def format_percent(fraction) -> str:
    """A fraction (0.8441) as a percentage with one decimal ("84.4 %")."""
    number = finite_float(fraction)
    return NA if number is None else f"{number * 100:.1f} %"


def _scaled(value_base: float, family) -> tuple[float, str]:
    """(mantissa, symbol) with the mantissa in [1, 1000) where the family allows."""
    magnitude = abs(value_base)
    index = 0
    for position, (_, size) in enumerate(family):
        if magnitude >= size:
            index = position
    mantissa = value_base / family[index][1]
    # 999.7 mJ rounds to "1,000 mJ": show it as "1 J" instead
    if index + 1 < len(family) and float(f"{abs(mantissa):.{SIGNIFICANT_DIGITS}g}") >= 1000:
        index += 1
        mantissa = value_base / family[index][1]
    return mantissa, family[index][0]


def _join(number: str, symbol: str, rest: str) -> str:
    return f"{number} {symbol}{rest}" if symbol else f"{number}{rest}"


def format_quantity(value, unit: str = "") -> str:
    """``value`` (in ``unit`` as a metric table states it) for display, e.g.
    ``format_quantity(9.43e-05, "kWh / epoch") == "94.3 mWh / epoch"``; None/NaN/inf -> "n.a.".
    Units it does not know are kept as written, after a three-digit number."""
    number = finite_float(value)
    if number is None:
        return NA
    unit = unit or ""
    if unit.strip() in _FRACTION_UNITS:
        return format_percent(number)
    if unit.strip() in _PERCENT_UNITS:
        return format_percent(number / 100)
    parts = unit_parts(unit)
    symbol, rest = parts.symbol, parts.rest
    stated = _STATED.get(symbol)
    if stated is None:
        text = format_number(number)
        return f"{text} {unit.strip()}" if unit.strip() else text
    family, size = stated
    if number == 0:
        return _join("0", symbol, rest)
    mantissa, shown = _scaled(number * size, family)
    return _join(format_number(mantissa), shown, rest)


def visible_text(text) -> str:
    """``text`` with every control or format character (ANSI escapes, NUL, bidi overrides, line and
    paragraph separators) shown as its escape, ``\\x1b`` or ``\\u202e``: a name prints as it is
    spelled and can neither colour nor move a terminal's text."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else
                   (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}" if ord(ch) < 0x10000
                    else f"\\U{ord(ch):08x}") for ch in text)


# what a log axis of a figure (ELEx, the paper) can hold with room to pad: beyond it (0, negative,
# a denormal, 1e±300, inf, NaN) a value is left out of the figure and named, never turned into
# NaN axis limits or an overflowing tick
DRAWABLE = (1e-100, 1e100)


def drawable(value) -> bool:
    """Whether ``value`` can sit on a figure's log axis (see ``DRAWABLE``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return DRAWABLE[0] <= value <= DRAWABLE[1]  # NaN compares False
