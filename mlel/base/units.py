"""Unit constants and conversions — the one place that knows how many joules are in a kWh — and
the one reader of unit strings (:func:`unit_parts`).

Field names elsewhere carry their unit as a suffix (``energy_j``, ``duration_s``, ``power_w``,
``energy_uj``), so a conversion is only ever written here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

J_PER_WH = 3600.0
J_PER_KWH = 3.6e6
S_PER_H = 3600.0
MS_PER_S = 1000.0
UJ_PER_J = 1e6
MJ_PER_J = 1e3  # millijoules per joule (NVML's energy counter is in mJ)
MW_PER_W = 1e3  # milliwatts per watt (NVML's power reading is in mW)
PER_MILLION = 1e-6  # parameters -> M
PER_GIGA = 1e-9  # FLOPs -> GFLOPs

# unit terms of an energy, a time or a power: a value in them is never negative (mlel.base.values)
NONNEGATIVE_TERMS = frozenset({"J", "Ws", "mJ", "kJ", "MJ", "Wh", "mWh", "kWh", "MWh",
                               "s", "sec", "ms", "us", "µs", "min", "h", "W", "mW", "kW"})


def j_to_kwh(energy_j: float) -> float:
    return energy_j / J_PER_KWH


def j_to_wh(energy_j: float) -> float:
    return energy_j / J_PER_WH


def kwh_to_j(energy_kwh: float) -> float:
    return energy_kwh * J_PER_KWH


def s_to_h(duration_s: float) -> float:
    return duration_s / S_PER_H


def s_to_ms(duration_s: float) -> float:
    return duration_s * MS_PER_S


def uj_to_j(energy_uj: float) -> float:
    return energy_uj / UJ_PER_J


def mj_to_j(energy_mj: float) -> float:
    return energy_mj / MJ_PER_J


def mw_to_w(power_mw: float) -> float:
    return power_mw / MW_PER_W


_PRODUCT = re.compile(r"[*·\s]+")  # "GFLOPs * s", "W·h", "1000 queries": terms of a product


@dataclass(frozen=True)
class UnitParts:
    """A unit string as a property set or an import states it, split once:
    ``"kWh / epoch"`` -> numerator ``("kWh",)``, denominator ``("epoch",)``, symbol ``"kWh"``,
    rest ``" / epoch"``. What the terms mean (a physical unit, a scale, a counted noun) is the
    caller's business: display scales the symbol, merge counts nouns, imports convert."""

    text: str
    numerator: tuple[str, ...]  # terms above the first "/" (a product: "*", "·" or spaces)
    denominator: tuple[str, ...]  # terms below it; () where there is no "/"
    slashes: int  # how many "/" the text holds (more than one: not a unit anyone can read)
    symbol: str  # the numerator as written, stripped: what a display puts a prefix on
    rest: str  # from the "/" on as written, with the space before it (" / epoch", "/token"); "" if none

    @property
    def per(self) -> bool:
        return self.slashes > 0


@lru_cache(maxsize=512)
def unit_parts(text: str) -> UnitParts:
    """The one unit parser: "J / token", "kWh / epoch", "ms/sample", "tokens/s", "Wh/1000 queries",
    "fraction" -> :class:`UnitParts`. Never raises; callers refuse what they cannot use."""
    head, slash, tail = text.partition("/")
    return UnitParts(text=text, numerator=_terms(head), denominator=_terms(tail) if slash else (),
                     slashes=text.count("/"), symbol=head.strip(),
                     rest=text[len(head.rstrip()):] if slash else "")


def _terms(side: str) -> tuple[str, ...]:
    return tuple(term for term in _PRODUCT.split(side) if term)
