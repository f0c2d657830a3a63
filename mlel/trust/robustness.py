"""Robustness to common corruptions: mean top-1 over corruptions x severities, and its share of the
clean top-1 (Hendrycks & Dietterich 2019 report the same two, as error rates)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from mlel.trust.corruptions import CORRUPTIONS, SEVERITIES


@dataclass(frozen=True)
class Robustness:
    """``clean_top1``: top-1 on the clean inputs (fraction); ``corruption_top1``: mean top-1 over
    every corruption and severity measured (fraction); ``relative``: corruption_top1 / clean_top1
    (1 = no loss; None when clean_top1 is 0); ``per_corruption``: name -> severity -> top-1."""

    clean_top1: float
    corruption_top1: float
    relative: float | None
    per_corruption: dict[str, dict[int, float]]


def robustness(clean_top1: float, corrupted_top1: dict[tuple[str, int], float]) -> Robustness:
    """The robustness numbers from the clean top-1 and the top-1 of each (corruption, severity)
    pair measured (fractions in [0, 1]). Every pair counts equally in the mean; measure the full
    grid CORRUPTIONS x SEVERITIES for numbers comparable across runs."""
    clean = _fraction(clean_top1, "clean_top1")
    if not corrupted_top1:
        raise ValueError("corrupted_top1: no (corruption, severity) top-1 given")
    per: dict[str, dict[int, float]] = {}
    for key, value in corrupted_top1.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"corrupted_top1: keys are (corruption, severity) pairs, got {key!r}")
        name, severity = key
        if name not in CORRUPTIONS:
            raise ValueError(f"corrupted_top1: unknown corruption {name!r}; valid: {', '.join(CORRUPTIONS)}")
        if severity not in SEVERITIES:
            raise ValueError(f"corrupted_top1: severity {severity!r} of {name} is not one of {SEVERITIES}")
        per.setdefault(name, {})[int(severity)] = _fraction(value, f"corrupted_top1[{name!r}, {severity}]")
    ordered = {name: dict(sorted(per[name].items())) for name in CORRUPTIONS if name in per}
    values = [v for by_severity in ordered.values() for v in by_severity.values()]
    mean = math.fsum(values) / len(values)
    return Robustness(clean_top1=clean, corruption_top1=mean, relative=mean / clean if clean > 0 else None,
                      per_corruption=ordered)


def _fraction(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a fraction in [0, 1], got {value!r}") from None
    if not (0.0 <= number <= 1.0):  # also rejects NaN
        raise ValueError(f"{name}: expected a fraction in [0, 1], got {value!r}")
    return number
