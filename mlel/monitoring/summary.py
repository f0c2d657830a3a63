"""Monitoring series -> the summary form of SPEC §3 (one implementation, used by the monitor and merge).

A monitoring file (``[<prefix>]monitoring_<source>.json``) is the 2022 raw form, one entry per device::

    {"<device>": {"timestamp": [ms since epoch, ...], "<quantity>": [...], ...}, ...,
     "_meta": {...}}          # optional, ours: source, estimated, power_keys, energy_key, units, notes

Energy of a device (``total_power_draw``, in Ws = J) is taken, in this order of preference, from

1. energies per interval (``_meta.interval_energy_key``, RAPL's counter deltas in J): their sum;
   a cumulative energy counter (``_meta.energy_key``, e.g. NVML's): last - first reading;
2. interval-average powers with a ``duration`` per sample (RAPL counter deltas, the estimate):
   sum of power × duration — exactly the counter difference over the window;
3. instantaneous powers only: trapezoid over the timestamps.

Sources without power keys (psutil) get ``total_power_draw = -1`` as in 2022. Power readings that
were unavailable are null in the series and left out; a device none of whose readings could be
read has ``total_power_draw: null`` and a reason in ``energy_problems`` — never 0.

**The counter check** (issue #29; NVML's, any source with both a counter and power): every
summary integrates the power readings too and keeps both, ``energy_counter_j``,
``energy_integrated_j``, their relative disagreement ``energy_disagreement`` = (counter −
integrated) / integrated, and a verdict ``energy_check``; a flagged device also gets
``energy_note``, a sentence naming the value used and why, and the ``total`` lists the notes
(``energy_notes``). The rule (:func:`check_counter`):

- the counter is **broken**, and integrated power is used, when it ran backwards (a driver reload
  resets it), stood still for ``FROZEN_S`` = 2 s or more (a powered GPU never draws 0 W; the
  counter counts mJ), or — on a judged window — its mean power lies outside the range of the power
  readings widened by the tolerance (``absurd``: every average over the window lies inside it);
- otherwise the **counter** is used: it accumulates at the sensor's own rate and sees what a 0.1 s
  sample of an instantaneous reading misses, or the lag of the 1-s average that Ampere and newer
  GPUs report as power; a disagreement above ``TOLERANCE`` = 10 % is flagged (``disagree``);
- only a **judged window** is compared: ≥ ``MIN_SAMPLES`` = 10 samples with both readings over ≥
  ``MIN_WINDOW_S`` = 10 s. 10 % is twice NVML's ±5 % power accuracy, and over 10 s the 1-s
  averaging lag moves the integral by at most one second's energy, 10 %; shorter windows record
  both values with ``energy_check: "short window"``, unjudged.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from mlel.base.units import MS_PER_S
from mlel.base.values import as_float

from .energy import EnergySum, sum_energy
from .series import MAX_SERIES_BYTES, META_KEY, MonitoringFileError, read_series
from .sources import NO_POWER

# Power quantities recognised when a file carries no _meta (the 2022 files): NVML and RAPL names.
_POWER_KEY = re.compile(r"^(power_usage|package-\d+(\.dram)?)$")
# Quantities that are bookkeeping rather than measurements: no min/max/mean/std for them.
_NO_STATS = {"timestamp"}

# The counter check (see the module's doc): its tolerance and what a judged window is.
TOLERANCE = 0.10
MIN_SAMPLES = 10
MIN_WINDOW_S = 10.0
FROZEN_S = 2.0  # twice the 1-s refresh of the slowest NVML readings
# verdicts under which the counter is not used (integrated power is), and those flagged to people
BROKEN = ("counter went backwards", "counter frozen", "counter absurd")
FLAGGED = BROKEN + ("disagree",)

__all__ = ["BROKEN", "FLAGGED", "MAX_SERIES_BYTES", "META_KEY", "NO_POWER", "CounterCheck", "MonitoringFileError",
           "check_counter", "energy_check_notes", "read_series", "summarize", "summarize_file"]


def utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def stats(values) -> dict:
    """min, max, mean, std (population, like numpy's default) of the finite numbers in values."""
    xs = [x for x in map(as_float, values) if x is not None and math.isfinite(x)]
    if not xs:
        return {"min": None, "max": None, "mean": None, "std": None}
    n = len(xs)
    try:
        mean = math.fsum(xs) / n
    except OverflowError:  # values near the float limit: scale first
        mean = math.fsum(x / n for x in xs)
    var = math.fsum((x - mean) * (x - mean) for x in xs) / n  # inf, never OverflowError, if huge
    return {"min": min(xs), "max": max(xs), "mean": mean, "std": math.sqrt(var)}


def trapezoid_terms(times_s, powers_w) -> list:
    """Energies (J) between consecutive instantaneous power samples, linear between samples."""
    pts = [(t, as_float(p)) for t, p in zip(times_s, powers_w) if as_float(p) is not None]  # None: failed
    return [(t1 - t0) * (p0 / 2.0 + p1 / 2.0) for (t0, p0), (t1, p1) in zip(pts, pts[1:])]


def interval_terms(durations_s, powers_w) -> list:
    """Energies (J) of interval-average powers: each sample covers the `duration` before it."""
    pairs = ((as_float(d), as_float(p)) for d, p in zip(durations_s, powers_w))
    return [d * p for d, p in pairs if d is not None and p is not None]


def trapezoid(times_s, powers_w) -> float:
    """Energy (J) of instantaneous power samples (non-finite terms left out)."""
    return sum_energy(trapezoid_terms(times_s, powers_w)).total_j or 0.0


def interval_energy(durations_s, powers_w) -> float:
    """Energy (J) of interval-average powers (non-finite terms left out)."""
    return sum_energy(interval_terms(durations_s, powers_w)).total_j or 0.0


def power_keys(device: dict, meta: dict) -> list[str]:
    if "power_keys" in meta:
        return [k for k in meta["power_keys"] if k in device]
    return [k for k in device if _POWER_KEY.match(k)]


def _finite(value) -> float | None:
    number = as_float(value)
    return number if number is not None and math.isfinite(number) else None


@dataclass(frozen=True)
class CounterCheck:
    """A cumulative energy counter against the integral of the power readings, over one window.
    ``verdict``: "agree", "disagree", "short window" (not judged), "no counter", "no power
    readings", or one of BROKEN; ``why`` the detail a note gives."""

    counter_j: float | None
    integrated_j: float | None
    verdict: str
    samples: int  # samples with both readings
    why: str = ""

    @property
    def disagreement(self) -> float | None:
        """(counter - integrated) / integrated; None where either is missing or the integral is 0."""
        if self.counter_j is None or not self.integrated_j:
            return None
        return (self.counter_j - self.integrated_j) / self.integrated_j

    @property
    def uses_counter(self) -> bool:
        return self.counter_j is not None and self.verdict not in BROKEN

    @property
    def note(self) -> str | None:
        """The sentence a flagged device shows: both values, which one is used and why."""
        if self.verdict not in FLAGGED:
            return None
        both = f"energy counter {_j(self.counter_j)}, integrated power {_j(self.integrated_j)}"
        if self.verdict == "disagree":
            return (f"{both}: they disagree by {self.disagreement:+.0%} (tolerance {TOLERANCE:.0%}); the "
                    "counter is used (it accumulates at the sensor's rate; power readings are samples)")
        return f"{both}: {self.verdict} ({self.why}); integrated power is used"

    def fields(self) -> dict:
        out = {"energy_counter_j": self.counter_j, "energy_integrated_j": self.integrated_j,
               "energy_disagreement": self.disagreement, "energy_check": self.verdict}
        if self.note:
            out["energy_note"] = self.note
        return out


def _j(value: float | None) -> str:
    return "unavailable" if value is None else f"{value:.1f} J"


def check_counter(times_s, counter, powers_w, integrated_j: float | None) -> CounterCheck:
    """The counter check of one device (the rule is the module's doc): ``counter`` cumulative J
    readings and ``powers_w`` the summed power readings (W) at ``times_s``; None entries failed."""
    readings = [(t, c) for t, c in zip(times_s, map(_finite, counter)) if c is not None]
    if not readings:
        return CounterCheck(None, integrated_j, "no counter", 0)
    counter_j = readings[-1][1] - readings[0][1]
    both = sum(1 for c, p in zip(counter, powers_w) if _finite(c) is not None and p is not None)
    stuck = longest = 0.0
    for (t0, c0), (t1, c1) in zip(readings, readings[1:]):
        if c1 < c0:
            return CounterCheck(counter_j, integrated_j, "counter went backwards", both,
                                f"{c0:.1f} J then {c1:.1f} J")
        stuck = stuck + (t1 - t0) if c1 == c0 else 0.0
        longest = max(longest, stuck)
    if longest >= FROZEN_S:
        return CounterCheck(counter_j, integrated_j, "counter frozen", both, f"it stood still for {longest:.1f} s")
    if integrated_j is None:
        return CounterCheck(counter_j, None, "no power readings", both)
    window = readings[-1][0] - readings[0][0]
    if both < MIN_SAMPLES or window < MIN_WINDOW_S:
        return CounterCheck(counter_j, integrated_j, "short window", both)
    powers = [p for p in powers_w if p is not None]
    mean_w = counter_j / window
    low, high = min(powers) * (1 - TOLERANCE), max(powers) * (1 + TOLERANCE)
    if not low <= mean_w <= high:  # an average the readings never came near: the counter is wrong
        return CounterCheck(counter_j, integrated_j, "counter absurd", both,
                            f"its mean {mean_w:.0f} W is outside the readings' {min(powers):.0f}-{max(powers):.0f} W")
    disagreement = (counter_j - integrated_j) / integrated_j if integrated_j else math.inf
    return CounterCheck(counter_j, integrated_j, "disagree" if abs(disagreement) > TOLERANCE else "agree", both)


def _summed_powers(device: dict, keys: list) -> list:
    """Per sample, the sum of the power quantities (None where one of them failed)."""
    columns = [[_finite(v) for v in device[k]] for k in keys]
    return [None if not row or None in row else math.fsum(row) for row in zip(*columns)] if columns else []


def _integrate(device: dict, keys: list) -> EnergySum:
    """Energy of the power readings: interval powers × durations, else the trapezoid. Readings that
    failed are left out; where fewer than two could be read over two samples or more, the energy
    is unavailable (None, with its reason), never 0."""
    ts = device["timestamp"]
    if "duration" in device:
        energy = sum_energy([t for k in keys for t in interval_terms(device["duration"], device[k])])
        readable = sum(1 for k in keys for d, p in zip(device["duration"], device[k])
                       if _finite(d) is not None and _finite(p) is not None)
        usable = 1
    else:
        times = [t / MS_PER_S for t in ts]
        energy = sum_energy([t for k in keys for t in trapezoid_terms(times, device[k])])
        readable = max((sum(1 for p in device[k] if as_float(p) is not None) for k in keys), default=0)
        usable = 2
    if energy.total_j is None and not energy.rejected and len(ts) >= 2 and readable < usable:
        return EnergySum(None, 0, ("power unavailable: no reading to integrate",))
    return energy


def device_energy(device: dict, meta: dict) -> tuple[EnergySum | None, str | None, CounterCheck | None]:
    """(energy sum in J, method, counter check) of one device's series; (None, None, None) where it
    measures no power."""
    interval_key = meta.get("interval_energy_key")
    if interval_key and isinstance(device.get(interval_key), list):  # J per interval, from counters
        return sum_energy(device[interval_key]), "interval", None
    keys = power_keys(device, meta)
    integrated = _integrate(device, keys) if keys else None
    check = None
    energy_key = meta.get("energy_key")
    if energy_key:
        check = check_counter([t / MS_PER_S for t in device["timestamp"]], device.get(energy_key) or [],
                              _summed_powers(device, keys), None if integrated is None else integrated.total_j)
        if check.uses_counter:
            return sum_energy([check.counter_j]), "counter", check
        if check.counter_j is not None and integrated is None:  # a broken counter, nothing to integrate
            return EnergySum(None, 0, (f"{check.verdict}; no power reading to integrate",)), "counter", check
    if integrated is None:
        return None, None, check
    return integrated, "interval" if "duration" in device else "trapezoid", check


def _energy_fields(energy: EnergySum | None) -> dict:
    """total_power_draw (J; -1 without power; 0.0 for a window too short to integrate) and, where
    terms were left out, the reasons."""
    if energy is None:
        return {"total_power_draw": NO_POWER}
    total = energy.total_j if energy.total_j is not None or energy.rejected else 0.0
    out = {"total_power_draw": total}
    if energy.rejected:
        out["energy_problems"] = sorted(set(energy.rejected))
    return out


def summarize_device(device: dict, meta: dict, dev: str | None = None) -> dict | None:
    ts = device.get("timestamp") or []
    if not ts:
        return None
    end = max(ts) / MS_PER_S
    start = min(ts) / MS_PER_S
    if device.get("duration"):
        # interval samples: the first one covers the `duration` before its timestamp
        start -= device["duration"][0]
    out = {"start_unix": start, "end_unix": end, "start_utc": utc(start), "end_utc": utc(end),
           "total_duration": end - start, "nr_measurements": len(ts)}
    skip = _NO_STATS | {meta.get("energy_key"), meta.get("interval_energy_key")}
    for key, values in device.items():
        if key not in skip and isinstance(values, list):
            out[key] = stats(values)
    energy, method, check = device_energy(device, meta)
    out.update(_energy_fields(energy))
    if method == "counter" and power_keys(device, meta):  # the name of earlier releases for the integral
        out["total_power_draw_integrated"] = check.integrated_j
    if method:
        out["energy_method"] = method
    if check is not None:
        out.update(check.fields())
    measured = ((meta.get("devices") or {}).get(dev) or {}).get("measured") if dev is not None else None
    if measured:  # e.g. "whole device": a MIG instance's run measured at its parent GPU
        out["measured"] = measured
    if "estimated" in meta:
        out["estimated"] = bool(meta["estimated"])
    return out


def summarize(data: dict) -> dict | None:
    """Raw series (the content of a monitoring file) -> SPEC §3 summary; None when it holds no samples."""
    if not isinstance(data, dict):
        raise MonitoringFileError(f"expected a JSON object, got {type(data).__name__}")
    meta = data.get(META_KEY) or {}
    result = {}
    for dev, series in data.items():
        if dev == META_KEY:
            continue
        if not isinstance(series, dict) or not isinstance(series.get("timestamp", []), list):
            raise MonitoringFileError(f"device {dev!r}: expected an object of lists with 'timestamp'")
        summary = summarize_device(series, meta, str(dev))
        if summary is not None:
            result[str(dev)] = summary
    if not result:
        return None
    devices = list(result.values())
    energies = [d["total_power_draw"] for d in devices if d["total_power_draw"] != NO_POWER]
    total = sum_energy(energies) if energies else None  # None entries: devices whose sum failed
    start = min(d["start_unix"] for d in devices)
    end = max(d["end_unix"] for d in devices)
    result["total"] = {"start_unix": start, "end_unix": end,
                       "nr_measurements": sum(d["nr_measurements"] for d in devices),
                       "total_power_draw": NO_POWER if total is None else total.total_j,
                       "start_utc": utc(start), "end_utc": utc(end), "total_duration": end - start}
    problems = list(total.rejected if total is not None else ()) + \
        [p for d in devices for p in d.get("energy_problems", [])]
    if problems:
        result["total"]["energy_problems"] = sorted(set(problems))
    if "estimated" in meta:
        result["total"]["estimated"] = bool(meta["estimated"])
    notes = [f"{name}: {d['energy_note']}" for name, d in result.items() if "energy_note" in d]
    if notes:  # the flagged devices of the counter check, in one place
        result["total"]["energy_notes"] = notes
    return result


def energy_check_notes(summaries: dict) -> list[str]:
    """'<source> <device>: <note>' of every device the counter check flagged, from the summaries of
    a run's sources (source -> summary or None)."""
    return [f"{source} {note}" for source, summary in summaries.items()
            for note in ((summary or {}).get("total") or {}).get("energy_notes", [])]


def summarize_file(path) -> dict | None:
    """Monitoring file -> SPEC §3 summary. None if the file is missing or holds no samples;
    MonitoringFileError (a ValueError) if it exists but does not parse."""
    data = read_series(path)
    if data is None:
        return None
    try:
        return summarize(data)
    except (TypeError, KeyError) as exc:
        raise MonitoringFileError(f"{Path(path).name}: malformed series ({exc})") from exc
