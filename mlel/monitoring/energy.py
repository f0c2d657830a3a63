"""Energy arithmetic — the one place that sums energies and defines dynamic energy (pure functions).

Every total of joules in the project (the devices of a source, the sources of a run, a merged log's
split) goes through :func:`sum_energy`, which never raises: non-finite terms (NaN, ±inf, a reading
of 1e308 W whose product overflowed) are left out and reported, and a sum of finite terms too large
for a float is reported as an overflow instead of raising ``OverflowError`` as ``math.fsum`` does.

Dynamic energy is the energy above the idle baseline over the **measured window** of each source:
``energy_j - Σ baseline_power_w[source] × duration_s[source]`` (:func:`dynamic_energy_j`; from
totals already summed: :func:`above_baseline_j`). The monitor (at the end of a block), the reader of
merged logs (``mlel.runlog.logs``) and the pooling of runs (``mlel.ratings.pooling``) all call it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from mlel.base.values import as_float, is_number


@dataclass(frozen=True)
class EnergySum:
    """A sum of energies in J: ``total_j`` (None when no term was usable or the sum overflows),
    ``terms`` (how many finite terms were added) and ``rejected`` (why terms were left out)."""

    total_j: float | None
    terms: int
    rejected: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.total_j is not None and not self.rejected


def sum_energy(values: Iterable) -> EnergySum:
    """Sum the finite numbers among ``values`` (None entries are skipped silently: not measured);
    non-numbers and non-finite numbers are left out and named in ``rejected``."""
    finite, rejected = [], []
    for value in values:
        if value is None:
            continue
        number = as_float(value)
        if number is None:
            rejected.append(f"not a number: {value!r:.40}" if not is_number(value)
                            else f"too large for a float: {str(value)[:20]}…")
        elif not math.isfinite(number):
            rejected.append(f"not finite: {number!r}")
        else:
            finite.append(number)
    if not finite:
        return EnergySum(None, 0, tuple(rejected))
    try:
        total = math.fsum(finite)
    except OverflowError:  # fsum's partial sums left the float range
        total = math.inf
    if not math.isfinite(total):
        return EnergySum(None, len(finite), tuple(rejected) + ("sum overflows a float",))
    return EnergySum(total, len(finite), tuple(rejected))


def fsum_finite(values: Iterable) -> float:
    """Sum of the finite numbers in ``values``; 0.0 when there are none or the sum overflows
    (callers that must say why use :func:`sum_energy`)."""
    total = sum_energy(values).total_j
    return 0.0 if total is None else total


def dynamic_energy_j(energy_j: Mapping[str, float], duration_s: Mapping[str, float],
                     baseline_power_w: Mapping[str, float]) -> float | None:
    """Energy above the idle baseline: the sum over the sources that have both an energy and a
    baseline of ``energy_j[s] - baseline_power_w[s] × duration_s[s]`` (each source over its own
    measured window), plus the energy of sources without a baseline. None without any baseline."""
    if not baseline_power_w or not any(s in baseline_power_w for s in energy_j):
        return None
    idle = [baseline_power_w[s] * duration_s[s] for s in energy_j
            if s in baseline_power_w and s in duration_s]
    return above_baseline_j(sum_energy(energy_j.values()).total_j, sum_energy(idle).total_j)


def above_baseline_j(energy_j: float | None, baseline_j: float | None) -> float | None:
    """Dynamic energy from totals: ``energy_j - baseline_j`` (the idle baseline energy over the
    measured window, :func:`baseline_energy_j`); None where either is unknown. Pooled runs
    (``mlel.ratings.pooling``) take a merged log's totals through here."""
    if energy_j is None or baseline_j is None:
        return None
    return energy_j - baseline_j


def baseline_energy_j(duration_s: Mapping[str, float], baseline_power_w: Mapping[str, float]) -> float | None:
    """Idle baseline power × measured duration, summed over the sources that have both."""
    terms = [baseline_power_w[s] * duration_s[s] for s in duration_s if s in baseline_power_w]
    return sum_energy(terms).total_j if terms else None
