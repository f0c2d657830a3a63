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

Sources without power keys (psutil) get ``total_power_draw = -1`` as in 2022.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from pathlib import Path

from mlel.base.units import MS_PER_S

from mlel.base.values import as_float, is_number

from .energy import EnergySum, sum_energy
from .series import META_KEY, MonitoringFileError, read_series
from .sources import NO_POWER

# Power quantities recognised when a file carries no _meta (the 2022 files): NVML and RAPL names.
_POWER_KEY = re.compile(r"^(power_usage|package-\d+(\.dram)?)$")
# Quantities that are bookkeeping rather than measurements: no min/max/mean/std for them.
_NO_STATS = {"timestamp"}

__all__ = ["META_KEY", "NO_POWER", "MonitoringFileError", "read_series", "summarize", "summarize_file"]


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


def device_energy(device: dict, meta: dict) -> tuple[EnergySum | None, str | None]:
    """(energy sum in J, method) of one device's series; (None, None) where it measures no power."""
    interval_key = meta.get("interval_energy_key")
    if interval_key and isinstance(device.get(interval_key), list):  # J per interval, from counters
        return sum_energy(device[interval_key]), "interval"
    energy_key = meta.get("energy_key")
    if energy_key and len(device.get(energy_key) or []) >= 1:
        counter = [v for v in device[energy_key] if is_number(v)]
        if counter:
            return sum_energy([counter[-1] - counter[0]]), "counter"
    keys = power_keys(device, meta)
    if not keys:
        return None, None
    if "duration" in device:
        terms = [t for k in keys for t in interval_terms(device["duration"], device[k])]
        return sum_energy(terms), "interval"
    times = [t / MS_PER_S for t in device["timestamp"]]
    return sum_energy([t for k in keys for t in trapezoid_terms(times, device[k])]), "trapezoid"


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


def summarize_device(device: dict, meta: dict) -> dict | None:
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
    energy, method = device_energy(device, meta)
    out.update(_energy_fields(energy))
    if method == "counter":
        keys = power_keys(device, meta)
        if keys:  # both recorded: the counter wins, the integral is kept for comparison
            times = [t / MS_PER_S for t in ts]
            out["total_power_draw_integrated"] = sum_energy(
                [t for k in keys for t in trapezoid_terms(times, device[k])]).total_j
    if method:
        out["energy_method"] = method
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
        summary = summarize_device(series, meta)
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
    return result


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
