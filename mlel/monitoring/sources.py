"""The power sources: one table of what each ``monitoring_<name>`` source is (SPEC §3).

Everything that needs to know a source asks here: merge (which sources a merged log always
carries), the merged-log reader (which device an energy belongs to, which sources give no power by
design), the validity gates (a sensor's own refresh period), the record route (GPU and CPU energy),
the labels (the device a source measured) and the monitor (which interval samples a source).
A source that is not in the table (a user's own ``monitoring_<x>``) is read as power of an
unknown device, sampled at the CPU interval, refreshed faster than we sample.
"""
from __future__ import annotations

from dataclasses import dataclass

NO_POWER = -1  # total_power_draw of a source that measures no power by design (psutil)


@dataclass(frozen=True)
class PowerSource:
    """One monitoring source, as its meter declares it."""

    name: str                    # the ``monitoring_<name>`` key of run folders and merged logs
    device: str                  # what it measures: "GPU", "CPU" or "process" (no power)
    gives_power: bool            # False: its total_power_draw is NO_POWER by design
    gpu_interval: bool           # sampled at --gpu-monitor-interval (else --cpu-monitor-interval)
    sensor_refresh_s: float | None  # the sensor's own refresh; None: faster than we sample
    in_2022: bool                # one of the 2022 layout's keys (written, null where absent)
    estimated: bool = False      # a model of the power, not a sensor


# The sources' names, for the meters that write them (``NvmlMeter.source = NVML``, ...).
NVML, RAPL, PROCESS, ESTIMATE = "pynvml", "pyrapl", "psutil", "estimate"

SOURCES = (
    PowerSource(NVML, "GPU", True, True, 0.1, True),
    PowerSource("amdsmi", "GPU", True, True, 0.1, False),  # AMD GPUs: monitoring/amdsmi.py
    PowerSource(RAPL, "CPU", True, False, None, True),
    PowerSource(PROCESS, "process", False, False, None, True),
    PowerSource(ESTIMATE, "CPU", True, False, None, False, estimated=True),
    PowerSource("jetson", "board", True, False, None, False),  # Jetson INA3221 rails: monitoring/jetson.py
    PowerSource("amd_energy", "CPU", True, False, None, False),  # AMD, older kernels: monitoring/amd_energy.py
    PowerSource("apple_silicon", "CPU, GPU, ANE", True, False, 0.5, False),  # the SoC: monitoring/powermetrics.py
)
BY_NAME = {source.name: source for source in SOURCES}
KNOWN_SOURCES = tuple(source.name for source in SOURCES)  # merged even when absent (null)
SOURCES_2022 = tuple(source.name for source in SOURCES if source.in_2022)
NO_POWER_SOURCES = frozenset(source.name for source in SOURCES if not source.gives_power)
GPU_INTERVAL_SOURCES = frozenset(source.name for source in SOURCES if source.gpu_interval)


def sources_of(device: str) -> tuple[str, ...]:
    """The power sources that measure ``device`` ("GPU" or "CPU"), in table order."""
    return tuple(s.name for s in SOURCES if s.device == device and s.gives_power)


def device_of(name: str) -> str:
    """The device a source measured, for people: its table entry's, else the source's own name."""
    found = BY_NAME.get(name)
    return found.device if found is not None and found.gives_power else str(name)


def sensor_refresh_s(name: str) -> float | None:
    found = BY_NAME.get(name)
    return None if found is None else found.sensor_refresh_s


__all__ = ["BY_NAME", "ESTIMATE", "GPU_INTERVAL_SOURCES", "KNOWN_SOURCES", "NO_POWER", "NO_POWER_SOURCES", "NVML",
           "PROCESS", "RAPL", "SOURCES", "SOURCES_2022", "PowerSource", "device_of", "sensor_refresh_s",
           "sources_of"]
