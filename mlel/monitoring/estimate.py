"""Estimated CPU and DRAM power, for machines without a power sensor (no RAPL, or RAPL not readable).

CPU package power (``estimate_cpu_power_w``, pure):

    n          = u × logical CPUs                      busy hardware threads (u: machine utilisation)
    activity   = (min(n, C) + smt_gain × max(0, n − C)) / (C × (1 + smt_gain × (T − 1)))
    cpu_power  = TDP × (idle_share + (1 − idle_share) × activity ** exponent)

with C physical cores and T threads per core. A second thread on a busy core adds little
(``smt_gain``): a job on as many threads as physical cores — PyTorch's default — already draws most of
the TDP at 50% logical utilisation, where TDP × utilisation said half. ``exponent`` > 1: at partial load
the cores run at lower clocks and voltage. Intel's curve is calibrated on the 2022 RAPL logs of the
Xeon W-2155 in ../shared/reference (``bench/estimate_error.py``, ``estimate_calibration.py``: fit on half
of the models, scored on the other half): its expected error is ``EXPECTED_ERROR["intel"]``; other
vendors keep the uncalibrated TDP × (0.1 + 0.9 u), expected error ``EXPECTED_ERROR["other"]`` (that
model's error on the same data).

    dram_power = installed GB × (DRAM_W_PER_GB_IDLE + DRAM_W_PER_GB_LOAD × u)

u ∈ [0, 1] is the machine's CPU utilisation over the sampling interval (from /proc/stat deltas, not
psutil.cpu_percent, whose shared state user code may reset). TDP comes from the `cpu_tdp` argument,
else a small table of common CPUs, else CodeCarbon's bundled CPU table (offline), else
DEFAULT_W_PER_CPU × logical CPUs. The source is flagged ``estimated`` everywhere it appears.
"""
from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass

from .meters import Discovery, Opened, register_meter
from .procfs import cpu_times_reader
from .sources import BY_NAME, ESTIMATE

IDLE_FRACTION = 0.10  # idle share of the uncalibrated model (vendors without RAPL data)
DRAM_W_PER_GB_IDLE = 0.03
DRAM_W_PER_GB_LOAD = 0.16
DEFAULT_W_PER_CPU = 7.0  # 140 W / 20 threads of the W-2155; used when the CPU is unknown

# Common CPUs (the 2022 environments first); the rest comes from CodeCarbon's table.
KNOWN_TDP_W = {
    "Intel Xeon W-2155": 140.0,
    "AMD EPYC 7742": 225.0,
    "AMD EPYC 7763": 280.0,
    "AMD EPYC 7543": 225.0,
    "Intel Xeon Gold 6248": 150.0,
    "Intel Xeon Platinum 8380": 270.0,
    "Intel Core i7-8700K": 95.0,
    "Intel Core i9-9900K": 95.0,
    "Apple M1": 20.0,
}


def normalize_cpu_name(name: str) -> str:
    name = re.sub(r"\((R|TM|tm|r)\)", "", name or "")
    name = re.sub(r"\bCPU\b|@.*$|\d+-Core Processor|Processor", "", name)
    return " ".join(name.split())


@functools.lru_cache(maxsize=1)
def _codecarbon_table() -> dict:
    path = codecarbon_data("hardware", "cpu_power.csv")
    if path is None:  # codecarbon missing or laid out differently: the small table still works
        return {}
    table = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                table[row["Name"]] = float(row["TDP"])
            except (KeyError, TypeError, ValueError):
                continue  # the table has a few malformed rows
    return table


def codecarbon_data(*parts: str):
    """Path of a file in codecarbon's bundled data, found without importing codecarbon (slow)."""
    import importlib.util
    from pathlib import Path
    try:
        spec = importlib.util.find_spec("codecarbon")
    except (ImportError, ValueError):
        return None
    for loc in (spec.submodule_search_locations or []) if spec else []:
        path = Path(loc, "data", *parts)
        if path.is_file():
            return path
    return None


def lookup_tdp(cpu_name: str) -> tuple[float | None, str]:
    """(TDP in W, where it came from) for a processor name; (None, 'unknown') if not found.
    The longest run of words of the name that names a CPU in a table wins."""
    words = normalize_cpu_name(cpu_name).split()
    runs = sorted({" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)},
                  key=len, reverse=True)
    for table, label in ((_normalized(tuple(KNOWN_TDP_W.items())), "table"),
                         (_normalized(tuple(_codecarbon_table().items())), "codecarbon table")):
        for run in runs:
            if run in table and re.search("[A-Za-z]", run):  # a bare number is no CPU name
                return table[run], f"{label}: {run}"
    return None, "unknown"


@functools.lru_cache(maxsize=4)
def _normalized(items: tuple) -> dict:
    return {normalize_cpu_name(name): tdp for name, tdp in items}


def cpu_name() -> str:
    """The CPU's brand string: the platform capture's own reading (one code path)."""
    from mlel.base.platform import cpu_brand

    return cpu_brand()


def resolve_tdp(cpu_tdp: float | None, name: str, logical_cpus: int) -> tuple[float, str]:
    if cpu_tdp:
        return float(cpu_tdp), "argument"
    tdp, source = lookup_tdp(name)
    if tdp:
        return tdp, source
    return DEFAULT_W_PER_CPU * max(1, logical_cpus), \
        f"default: {DEFAULT_W_PER_CPU:g} W x {logical_cpus} logical CPUs ({name or 'unknown CPU'} not in tables)"


def utilisation(t0, t1) -> float:
    """Machine CPU utilisation in [0, 1] between two psutil.cpu_times() readings."""
    def split(t):
        total = sum(t) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)  # guest is in user
        idle = t.idle + getattr(t, "iowait", 0.0)
        return total, idle
    tot0, idle0 = split(t0)
    tot1, idle1 = split(t1)
    dt = tot1 - tot0
    if dt <= 0:
        return 0.0
    return min(1.0, max(0.0, 1.0 - (idle1 - idle0) / dt))


def cpu_power(u: float, tdp_w: float, idle_fraction: float = IDLE_FRACTION) -> float:
    """The old model, TDP × (idle + (1 − idle) × u): kept as the baseline the new one is scored against."""
    return tdp_w * (idle_fraction + (1.0 - idle_fraction) * u)


@dataclass(frozen=True)
class PowerCurve:
    """Package power over load, as shares of TDP."""
    idle_share: float  # package power at no load / TDP
    smt_gain: float  # what a core's second hardware thread adds, as a share of the first's
    exponent: float  # 1: linear in core activity; > 1: lower clocks and voltage at partial load

    def to_dict(self) -> dict:
        return {"idle_share": self.idle_share, "smt_gain": self.smt_gain, "exponent": self.exponent}


# Fitted by estimate_calibration.fit_curve on fold 0 of the Xeon W-2155 logs (bench/estimate_error.py).
INTEL_CURVE = PowerCurve(idle_share=0.20, smt_gain=0.10, exponent=2.5)
# No RAPL data to calibrate on: the old TDP × utilisation model (threads count as cores, linear).
GENERIC_CURVE = PowerCurve(idle_share=IDLE_FRACTION, smt_gain=1.0, exponent=1.0)
VENDOR_CURVES = {"intel": INTEL_CURVE}
# Weighted absolute percentage error against RAPL package power on held-out runs (rounded up):
# intel: the worst of the four held-out scores (by model 8.6%, 9.4%; by time 8.2%, 15.02%);
# other: the old model's worst held-out error on the same data (21.1% to 30.1%).
EXPECTED_ERROR = {"intel": 0.16, "other": 0.31}


def cpu_vendor(cpu_name: str) -> str:
    """'intel', 'amd', 'apple' or 'other', from the processor's name."""
    name = (cpu_name or "").lower()
    for vendor, marks in (("intel", ("intel", "xeon", "core(tm)")), ("amd", ("amd", "epyc", "ryzen")),
                          ("apple", ("apple",))):
        if any(mark in name for mark in marks):
            return vendor
    return "other"


def power_curve(cpu_name: str) -> PowerCurve:
    return VENDOR_CURVES.get(cpu_vendor(cpu_name), GENERIC_CURVE)


def expected_error(cpu_name: str) -> float:
    """The estimate's expected relative error for this CPU (e.g. 0.10: "estimated ± 10%")."""
    return EXPECTED_ERROR.get(cpu_vendor(cpu_name), EXPECTED_ERROR["other"])


def threads_per_core(cpu_name: str, logical_cpus: int, physical_cpus: int | None = None) -> int:
    """Hardware threads per core: from the core count when known, else 2 for x86 server and desktop
    parts (Intel, AMD: SMT on by default) with an even thread count, else 1."""
    if physical_cpus:
        return max(1, round(logical_cpus / physical_cpus))
    return 2 if cpu_vendor(cpu_name) in ("intel", "amd") and logical_cpus >= 2 and logical_cpus % 2 == 0 else 1


def core_activity(u: float, logical_cpus: int, threads: int, smt_gain: float) -> float:
    """Share of the package's full-load core work that u × logical_cpus busy threads represent
    (threads fill physical cores first, as the schedulers place them)."""
    cores = max(1, logical_cpus) / max(1, threads)
    busy = u * max(1, logical_cpus)
    work = min(busy, cores) + smt_gain * max(0.0, busy - cores)
    return work / (cores * (1.0 + smt_gain * (threads - 1)))


def package_power_w(u: float, tdp_w: float, logical_cpus: int, threads: int, curve: PowerCurve) -> float:
    """Package power (W) at machine utilisation u for a CPU of known TDP and core layout."""
    if not 0.0 <= u <= 1.0:
        raise ValueError(f"utilisation must lie in [0, 1], got {u}")
    activity = core_activity(u, logical_cpus, threads, curve.smt_gain)
    return tdp_w * (curve.idle_share + (1.0 - curve.idle_share) * activity ** curve.exponent)


def estimate_cpu_power_w(cpu_name: str, utilisation: float, logical_cpus: int, *,
                         physical_cpus: int | None = None, tdp_w: float | None = None) -> float:
    """Estimated package power (W) of the CPU(s) named ``cpu_name`` at whole-machine utilisation
    ``utilisation`` ∈ [0, 1] with ``logical_cpus`` hardware threads. TDP from the tables unless given.
    Expected error: ``expected_error(cpu_name)``."""
    tdp, _ = resolve_tdp(tdp_w, cpu_name, logical_cpus)
    threads = threads_per_core(cpu_name, logical_cpus, physical_cpus)
    return package_power_w(utilisation, tdp, logical_cpus, threads, power_curve(cpu_name))


def dram_power(u: float, mem_gb: float) -> float:
    return mem_gb * (DRAM_W_PER_GB_IDLE + DRAM_W_PER_GB_LOAD * u)


class EstimateMeter:
    """Interval meter: each sample is the average estimated power since the previous one."""
    source = ESTIMATE
    estimated = True

    def __init__(self, cpu_tdp: float | None = None, *, cpu_times=None, mem_bytes: float | None = None,
                 name: str | None = None, logical_cpus: int | None = None, physical_cpus: int | None = None):
        import psutil
        self._cpu_times = cpu_times or psutil.cpu_times
        self.cpu_name = cpu_name() if name is None else name
        self.logical_cpus = logical_cpus or psutil.cpu_count() or 1
        if physical_cpus is None and name is None:  # this machine: ask it how many cores it has
            physical_cpus = psutil.cpu_count(logical=False)
        self.threads_per_core = threads_per_core(self.cpu_name, self.logical_cpus, physical_cpus)
        self.curve = power_curve(self.cpu_name)
        self.expected_error = expected_error(self.cpu_name)
        self.tdp_w, self.tdp_source = resolve_tdp(cpu_tdp, self.cpu_name, self.logical_cpus)
        self.mem_gb = (psutil.virtual_memory().total if mem_bytes is None else mem_bytes) / 2**30
        self._last = None

    def meta(self) -> dict:
        return {"power_keys": ["cpu_power", "dram_power"], "estimated": True,
                "method": "TDP x (idle_share + (1 - idle_share) x core_activity ** exponent), core activity "
                          "from utilisation with SMT threads worth smt_gain of a core; "
                          "DRAM = GB x (w_idle + w_load x utilisation)",
                "expected_error": self.expected_error,
                "cpu_name": self.cpu_name, "cpu_vendor": cpu_vendor(self.cpu_name),
                "cpu_tdp_w": self.tdp_w, "tdp_source": self.tdp_source,
                "logical_cpus": self.logical_cpus, "threads_per_core": self.threads_per_core,
                "power_curve": self.curve.to_dict(), "idle_fraction": self.curve.idle_share,
                "mem_gb": self.mem_gb, "dram_w_per_gb": [DRAM_W_PER_GB_IDLE, DRAM_W_PER_GB_LOAD],
                "units": {"cpu_power": "W", "dram_power": "W", "cpu_util": "%", "duration": "s"}}

    def sample(self, now: float) -> dict | None:
        reading = (now, self._cpu_times())
        last, self._last = self._last, reading
        if last is None:
            return None  # priming: an interval needs two readings
        u = utilisation(last[1], reading[1])
        power = package_power_w(u, self.tdp_w, self.logical_cpus, self.threads_per_core, self.curve)
        return {"0": {"duration": now - last[0], "cpu_util": 100.0 * u,
                      "cpu_power": power, "dram_power": dram_power(u, self.mem_gb)}}

    def close(self) -> None:
        pass


@register_meter(ESTIMATE)
def open_estimate(context: Discovery) -> Opened:
    """The registry's opener, tried only where no sensor of the CPU could be read: the estimate,
    with a note saying why it estimates and which TDP it took."""
    # the machine's CPU times through a kept-open /proc/stat: the estimate reads them every tick
    estimate = EstimateMeter(context.cpu_tdp, cpu_times=cpu_times_reader())
    why = context.unmeasured.get(BY_NAME[ESTIMATE].device, "no CPU power sensor")
    return Opened(estimate, (f"CPU power ESTIMATED ({why}); TDP {estimate.tdp_w:g} W ({estimate.tdp_source})",))
