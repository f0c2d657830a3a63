"""Platform capture: the one home of what a run records about the machine it ran on.

``platform_record()`` is ``execution_platform.json`` (the 2022 keys, SPEC §2); ``requirements_lines()``
is ``requirements.txt``. The CPU brand and the visible GPUs come from here for the run folder AND for
the monitors (``mlel.monitoring``), so an environment never names hardware the monitors did not
measure: GPUs hidden by ``CUDA_VISIBLE_DEVICES`` are left out of both.

NVML is imported as ``pynvml`` (package ``nvidia-ml-py``); tests put a simulated module in
``sys.modules["pynvml"]``.
"""
from __future__ import annotations

import importlib.metadata
import logging
import os
import platform as _stdlib_platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

log = logging.getLogger(__name__)

BYTES_PER_MIB = 1024 ** 2  # NVML reports bytes, the 2022 logs MiB (not in mlel.base.units yet)

CPUINFO = Path("/proc/cpuinfo")


def cpu_brand(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's brand string ('model name' in /proc/cpuinfo, as the 2022 logs record it), else
    what the platform module knows."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError as exc:  # not Linux, or /proc hidden: the platform module's (poorer) answer
        log.debug("no %s (%s); CPU name from the platform module", cpuinfo, exc)
    return _stdlib_platform.processor() or _stdlib_platform.machine()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def visible_gpu_indices(nvml, env: Mapping[str, str] | None = None) -> list[int]:
    """NVML indices of the GPUs ``CUDA_VISIBLE_DEVICES`` lets the run use (all without it).

    Entries are NVML indices or UUID prefixes (``GPU-…``, ``MIG-…``); as CUDA does, the list stops
    at the first invalid entry, and a repeated device counts once. Numeric entries are read in
    NVML (PCI bus) order: on machines with identical GPUs that is CUDA's order too, elsewhere UUIDs
    are the unambiguous choice."""
    env = os.environ if env is None else env
    count = nvml.nvmlDeviceGetCount()
    spec = env.get("CUDA_VISIBLE_DEVICES")
    if spec is None:
        return list(range(count))
    uuids: list[str] | None = None
    indices: list[int] = []
    for token in (t.strip() for t in spec.split(",")):
        if token.lstrip("-").isdigit():
            index = int(token)
            if not 0 <= index < count:
                break
        elif token.startswith(("GPU-", "MIG-")):
            if uuids is None:
                uuids = [_text(nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i)))
                         for i in range(count)]
            matches = [i for i, uuid in enumerate(uuids) if uuid.startswith(token)]
            if len(matches) != 1:
                break
            index = matches[0]
        else:
            break
        if index not in indices:
            indices.append(index)
    return indices


@dataclass(frozen=True)
class GpuDevice:
    """One visible GPU, as ``execution_platform.json`` records it."""
    index: int          # NVML index (the monitors key their devices by it too)
    name: str
    memory_mib: float
    uuid: str

    def to_dict(self) -> dict:
        return {"Name": self.name, "Memory": self.memory_mib, "UUID": self.uuid}


def read_gpus(nvml, env: Mapping[str, str] | None = None) -> list[GpuDevice]:
    """The visible GPUs of an initialised NVML module."""
    devices = []
    for index in visible_gpu_indices(nvml, env):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        devices.append(GpuDevice(index, _text(nvml.nvmlDeviceGetName(handle)),
                                 nvml.nvmlDeviceGetMemoryInfo(handle).total / BYTES_PER_MIB,
                                 _text(nvml.nvmlDeviceGetUUID(handle))))
    return devices


def gpu_devices(env: Mapping[str, str] | None = None) -> list[GpuDevice]:
    """The GPUs this run can use; [] without nvidia-ml-py, a driver, or a visible GPU."""
    try:
        import pynvml
    except ImportError:
        log.debug("nvidia-ml-py not installed: no GPUs recorded")
        return []
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:  # no driver / library: a machine without NVIDIA GPUs
        log.debug("NVML unavailable (%s): no GPUs recorded", exc)
        return []
    try:
        return read_gpus(pynvml, env)
    except pynvml.NVMLError as exc:
        log.warning("NVML error while listing GPUs (%s): none recorded", exc)
        return []
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError as exc:
            log.debug("nvmlShutdown: %s", exc)


def gpu_record(env: Mapping[str, str] | None = None) -> dict:
    """``{"<NVML index>": {"Name", "Memory" (MiB), "UUID"}}`` of the visible GPUs; {} without."""
    return {str(gpu.index): gpu.to_dict() for gpu in gpu_devices(env)}


def _cpu_frequencies(psutil) -> dict:
    try:
        freq = psutil.cpu_freq()
    except (OSError, NotImplementedError, RuntimeError) as exc:  # containers may hide cpufreq
        log.debug("CPU frequency unreadable: %s", exc)
        freq = None
    return {"Max Frequency": freq.max if freq else None, "Min Frequency": freq.min if freq else None,
            "Current Frequency": freq.current if freq else None}


def platform_record(env: Mapping[str, str] | None = None) -> dict:
    """``execution_platform.json``: OS, machine, CPU, cores, frequencies (MHz), memory (bytes)
    and the visible GPUs, under the 2022 keys."""
    import psutil
    uname = _stdlib_platform.uname()
    memory = psutil.virtual_memory()
    return {
        "System": uname.system, "Node Name": uname.node, "Release": uname.release,
        "Version": uname.version, "Machine": uname.machine, "Processor": cpu_brand(),
        "Physical cores": psutil.cpu_count(logical=False), "Total cores": psutil.cpu_count(logical=True),
        **_cpu_frequencies(psutil),
        "Total": memory.total, "Available": memory.available, "Used": memory.used,
        "GPU": gpu_record(env),
    }


def requirements_lines() -> list[str]:
    """``# <python version>`` lines, then ``name==version`` of every installed distribution,
    sorted case-insensitively (the 2022 requirements.txt)."""
    lines = [f"# {line}" for line in sys.version.splitlines()]
    versions = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            versions[name] = dist.version
    lines += [f"{name}=={versions[name]}" for name in sorted(versions, key=str.lower)]
    return lines
