"""Estimated CPU and DRAM power, for machines without a power sensor (no RAPL, or RAPL not readable).

Model (pure functions below, constants calibrated on the 2022 RAPL logs of the Xeon W-2155
workstation in ../shared/reference: package ~13 W idle of a 140 W TDP, ~TDP at full load;
DRAM ~2 W idle, ~12 W at full load with 62 GB installed):

    cpu_power  = TDP × (IDLE_FRACTION + (1 − IDLE_FRACTION) × u)
    dram_power = installed GB × (DRAM_W_PER_GB_IDLE + DRAM_W_PER_GB_LOAD × u)

where u ∈ [0, 1] is the machine's CPU utilisation over the sampling interval (from /proc/stat
deltas, not psutil.cpu_percent, whose shared state user code may reset). TDP comes from the
`cpu_tdp` argument, else a small table of common CPUs, else CodeCarbon's bundled CPU table (offline),
else DEFAULT_W_PER_CPU × logical CPUs. The source is flagged ``estimated`` everywhere it appears.
"""
from __future__ import annotations

import csv
import functools
import re
import time

IDLE_FRACTION = 0.10
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
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or ""


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
    return tdp_w * (idle_fraction + (1.0 - idle_fraction) * u)


def dram_power(u: float, mem_gb: float) -> float:
    return mem_gb * (DRAM_W_PER_GB_IDLE + DRAM_W_PER_GB_LOAD * u)


class EstimateMeter:
    """Interval meter: each sample is the average estimated power since the previous one."""
    source = "estimate"
    estimated = True

    def __init__(self, cpu_tdp: float | None = None, *, cpu_times=None, mem_bytes: float | None = None,
                 name: str | None = None, logical_cpus: int | None = None):
        import psutil
        self._cpu_times = cpu_times or psutil.cpu_times
        self.cpu_name = cpu_name() if name is None else name
        cpus = logical_cpus or psutil.cpu_count() or 1
        self.tdp_w, self.tdp_source = resolve_tdp(cpu_tdp, self.cpu_name, cpus)
        self.mem_gb = (psutil.virtual_memory().total if mem_bytes is None else mem_bytes) / 2**30
        self._last = None

    def meta(self) -> dict:
        return {"power_keys": ["cpu_power", "dram_power"], "estimated": True,
                "method": "TDP x (idle_fraction + (1 - idle_fraction) x utilisation); "
                          "DRAM = GB x (w_idle + w_load x utilisation)",
                "cpu_name": self.cpu_name, "cpu_tdp_w": self.tdp_w, "tdp_source": self.tdp_source,
                "idle_fraction": IDLE_FRACTION, "mem_gb": self.mem_gb,
                "dram_w_per_gb": [DRAM_W_PER_GB_IDLE, DRAM_W_PER_GB_LOAD],
                "units": {"cpu_power": "W", "dram_power": "W", "cpu_util": "%", "duration": "s"}}

    def sample(self, now: float) -> dict | None:
        reading = (now, self._cpu_times())
        last, self._last = self._last, reading
        if last is None:
            return None  # priming: an interval needs two readings
        u = utilisation(last[1], reading[1])
        return {"0": {"duration": now - last[0], "cpu_util": 100.0 * u,
                      "cpu_power": cpu_power(u, self.tdp_w), "dram_power": dram_power(u, self.mem_gb)}}

    def close(self) -> None:
        pass
