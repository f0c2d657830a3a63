"""Unit conversion for property values: "kWh" -> "Ws / sample", "s" -> "ms / sample", "Wh/1000 queries"
-> "J/query", "tokens/s", "%" -> "fraction", "bits" -> "nats / sample".

A unit is ``numerator [/ denominator]``; each side is a product (``*`` or space) of terms. A term is a
known physical unit (energy, time, power, data size, operations, a plain scale such as ``M`` or
``billion``), a number (``1000``) or a noun that counts things (``sample``, ``token``, ``image``; plurals
are folded: ``tokens`` = ``token``). Two units convert when their dimensions agree; a source unit that
names no counted noun at all (``s``) is taken to be per the same things as the target (``ms / sample``):
the value is already per sample and only its scale changes.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from mlel.base import units
from mlel.base.units import unit_parts

# term -> (scale to the base unit, dimension)
_TERMS: dict[str, tuple[float, str]] = {
    # energy (base J)
    "J": (1.0, "energy"), "Ws": (1.0, "energy"), "mJ": (1 / units.MJ_PER_J, "energy"),
    "kJ": (1e3, "energy"), "MJ": (1e6, "energy"), "Wh": (units.J_PER_WH, "energy"),
    "mWh": (units.J_PER_WH / 1e3, "energy"), "kWh": (units.J_PER_KWH, "energy"),
    "MWh": (units.J_PER_KWH * 1e3, "energy"),
    # time (base s)
    "s": (1.0, "time"), "sec": (1.0, "time"), "ms": (1 / units.MS_PER_S, "time"),
    "us": (1e-6, "time"), "µs": (1e-6, "time"), "min": (60.0, "time"), "h": (units.S_PER_H, "time"),
    # power (base W)
    "W": (1.0, "power"), "mW": (1 / units.MW_PER_W, "power"), "kW": (1e3, "power"),
    # data size (base byte; "B" is bytes, as the 2022 fsize unit)
    "B": (1.0, "bytes"), "byte": (1.0, "bytes"), "bytes": (1.0, "bytes"), "kB": (1e3, "bytes"),
    "KB": (1e3, "bytes"), "MB": (1e6, "bytes"), "GB": (1e9, "bytes"), "KiB": (1024.0, "bytes"),
    "MiB": (1024.0 ** 2, "bytes"), "GiB": (1024.0 ** 3, "bytes"),
    # operations (base FLOP)
    "FLOPs": (1.0, "flop"), "MFLOPs": (1e6, "flop"), "GFLOPs": (1e9, "flop"), "TFLOPs": (1e12, "flop"),
    # information (base nat): a negative log-likelihood (issue 28) in nats, or in bits (log base 2)
    "nat": (1.0, "information"), "nats": (1.0, "information"),
    "bit": (math.log(2), "information"), "bits": (math.log(2), "information"),
    # ratios, and plain scales of a count (dimensionless)
    "fraction": (1.0, "ratio"), "%": (0.01, "ratio"), "percent": (0.01, "ratio"), "count": (1.0, ""), "k": (1e3, ""),
    "thousand": (1e3, ""), "M": (1e6, ""), "million": (1e6, ""), "billion": (1e9, ""), "G": (1e9, ""),
}
_NOUN = re.compile(r"^[A-Za-z][A-Za-z_-]*$")


class UnitError(ValueError):
    """A unit that cannot be parsed, or two units that cannot be converted."""


@dataclass(frozen=True)
class ParsedUnit:
    scale: float  # value in this unit × scale = value in base units
    dims: tuple[tuple[str, int], ...]  # physical dimensions with exponents (sorted)
    nouns: tuple[tuple[str, int], ...]  # counted things with exponents (sorted)


def _noun(term: str) -> str:
    lower = term.lower()
    if lower.endswith("ies") and len(lower) > 4:
        return lower[:-3] + "y"  # queries -> query
    return lower[:-1] if lower.endswith("s") and len(lower) > 3 else lower


def _add_term(term: str, sign: int, dims: Counter, nouns: Counter) -> float:
    if term in _TERMS:
        scale, dim = _TERMS[term]
        if dim:
            dims[dim] += sign
        return scale ** sign
    try:
        number = float(term.replace(",", ""))
    except ValueError:
        number = None
    if number is not None:
        if number <= 0:
            raise UnitError(f"a unit cannot hold the number {term!r}")
        return number ** sign
    if not _NOUN.match(term):
        raise UnitError(f"unknown unit term {term!r}")
    nouns[_noun(term)] += sign
    return 1.0


@lru_cache(maxsize=512)
def parse_unit(text: str) -> ParsedUnit:
    """Parse a unit string; raises :class:`UnitError` naming what it cannot read."""
    parts = unit_parts(text)
    if parts.slashes > 1:
        raise UnitError(f"unit {text!r} has more than one '/'")
    dims: Counter = Counter()
    nouns: Counter = Counter()
    scale = 1.0
    for terms, sign in ((parts.numerator, 1), (parts.denominator, -1)):
        for term in terms:
            scale *= _add_term(term, sign, dims, nouns)
    return ParsedUnit(scale, tuple(sorted((d, e) for d, e in dims.items() if e)),
                      tuple(sorted((n, e) for n, e in nouns.items() if e)))


def conversion_factor(source: str, target: str) -> float:
    """The factor f with value_in_target = value_in_source × f; raises :class:`UnitError`."""
    src, dst = parse_unit(source), parse_unit(target)
    if src.dims != dst.dims:
        raise UnitError(f"cannot convert {source!r} to {target!r}: different quantities")
    if src.nouns and src.nouns != dst.nouns:
        raise UnitError(f"cannot convert {source!r} to {target!r}: per different things")
    return src.scale / dst.scale


def convert(value: float, source: str, target: str) -> float:
    """``value`` in ``source`` units, expressed in ``target`` units."""
    if source == target:
        return value
    converted = value * conversion_factor(source, target)
    if not math.isfinite(converted):  # 1e308 Wh is 3.6e311 J: no float holds it
        raise UnitError(f"{value!r} {source} is not a finite number in {target}")
    return converted
