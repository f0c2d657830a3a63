"""Platform capture: the one home of what a run records about the machine it ran on.

``platform_record()`` is ``execution_platform.json`` (the 2022 keys, SPEC §2); ``requirements_lines()``
is ``requirements.txt``. The CPU brand and the visible GPUs come from here for the run folder AND for
the monitors (``mlel.monitoring``), so an environment never names hardware the monitors did not
measure: GPUs hidden by ``CUDA_VISIBLE_DEVICES`` (NVIDIA) or ``ROCR_VISIBLE_DEVICES`` /
``HIP_VISIBLE_DEVICES`` (AMD) are left out of both.

NVML is imported as ``pynvml`` (package ``nvidia-ml-py``), AMD SMI as ``amdsmi`` (shipped with ROCm);
tests put a simulated module in ``sys.modules`` or a stand-in package on the path.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import logging
import math
import os
import platform as _stdlib_platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

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
                uuids = [(_text(nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i))), i)
                         for i in range(count)]
                uuids += _mig_uuids(nvml, count)
            # a MIG instance (MIG-<uuid>, or the older MIG-GPU-<uuid>/<gi>/<ci>) is its parent GPU
            prefix = token[len("MIG-"):].split("/")[0] if token.startswith("MIG-GPU-") else token
            matches = [i for uuid, i in uuids if uuid.startswith(prefix)]
            if len(matches) != 1:  # none, or an ambiguous prefix
                break
            index = matches[0]
        else:
            break
        if index not in indices:
            indices.append(index)
    return indices


def _mig_uuids(nvml, count: int) -> list[tuple[str, int]]:
    """(MIG instance UUID, its parent GPU's NVML index) of every GPU in MIG mode: NVML measures
    power and energy per GPU only, so a run on an instance is measured at its parent."""
    out = []
    if not hasattr(nvml, "nvmlDeviceGetMigMode"):  # an nvidia-ml-py older than MIG: no instances to find
        return out
    for index in range(count):
        parent = nvml.nvmlDeviceGetHandleByIndex(index)
        try:
            if nvml.nvmlDeviceGetMigMode(parent)[0] != nvml.NVML_DEVICE_MIG_ENABLE:
                continue
            slots = nvml.nvmlDeviceGetMaxMigDeviceCount(parent)
        except nvml.NVMLError:  # not MIG capable (pre-Ampere, most GPUs)
            continue
        for slot in range(slots):
            try:
                out.append((_text(nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetMigDeviceHandleByIndex(parent, slot))),
                            index))
            except nvml.NVMLError:  # an empty slot
                continue
    return out


@dataclass(frozen=True)
class GpuDevice:
    """One visible GPU, as ``execution_platform.json`` records it."""
    index: int          # NVML (or amdsmi) index (the monitors key their devices by it too)
    name: str
    memory_mib: float | None  # None: not reported (never 0)
    uuid: str | None

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


# --- AMD GPUs (amdsmi) ------------------------------------------------------------------------------

# What the C library writes into a field it does not support (the Python binding may pass it on
# instead of "N/A"): read as unavailable, never as a value.
_AMD_SENTINELS = frozenset(float(2 ** bits - 1) for bits in (16, 32, 64))


def amd_value(value: Any, *, sentinels: bool = True) -> float | None:
    """A number amdsmi reported, or None where it says "N/A", writes an unsupported-field sentinel
    (``sentinels``; off for counters, which may pass any value), or gives nothing usable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):  # "N/A" and other words
        return None
    if not math.isfinite(number) or number < 0 or (sentinels and number in _AMD_SENTINELS):
        return None
    return number


def amd_call(smi, fn: Callable, *args):
    """fn(*args), or None where amdsmi raises (a query this GPU or driver does not support)."""
    try:
        return fn(*args)
    except getattr(smi, "AmdSmiException", Exception):
        return None


def _pick(spec: str, candidates: Sequence[int], ids_of: Callable[[int], Sequence[str]]) -> list[int]:
    """The devices a ``*_VISIBLE_DEVICES`` list names: positions in ``candidates`` or unique id
    prefixes (``GPU-…`` allowed); as the runtimes do, it stops at the first invalid entry."""
    chosen: list[int] = []
    for token in (t.strip() for t in spec.split(",")):
        if token.lstrip("-").isdigit():
            if not 0 <= int(token) < len(candidates):
                break
            index = candidates[int(token)]
        else:
            key = token.lower()[4:] if token.lower().startswith("gpu-") else token.lower()
            matches = [i for i in candidates if key and any(x.startswith(key) for x in ids_of(i))]
            if len(matches) != 1:
                break
            index = matches[0]
        if index not in chosen:
            chosen.append(index)
    return chosen


def visible_amd_indices(count: int, ids_of: Callable[[int], Sequence[str]],
                        env: Mapping[str, str] | None = None) -> list[int]:
    """amdsmi indices of the AMD GPUs the run can use: ``ROCR_VISIBLE_DEVICES`` picks from all GPUs,
    then ``HIP_VISIBLE_DEVICES`` (``CUDA_VISIBLE_DEVICES`` where it is unset, as HIP reads it) picks
    from those. Indices are read in amdsmi's order, which is the runtime's (KFD node) order."""
    env = os.environ if env is None else env
    visible = list(range(count))
    if env.get("ROCR_VISIBLE_DEVICES") is not None:
        visible = _pick(env["ROCR_VISIBLE_DEVICES"], visible, ids_of)
    hip = env.get("HIP_VISIBLE_DEVICES", env.get("CUDA_VISIBLE_DEVICES"))
    return visible if hip is None else _pick(hip, visible, ids_of)


def amd_gpu_ids(smi, handle) -> tuple[str, ...]:
    """The ids a visibility list may name a GPU by: its UUID and its ASIC serial, lower case."""
    uuid = amd_call(smi, smi.amdsmi_get_gpu_device_uuid, handle)
    serial = (amd_call(smi, smi.amdsmi_get_gpu_asic_info, handle) or {}).get("asic_serial")
    ids = [str(uuid).lower(), str(serial).lower().removeprefix("0x")]
    return tuple(x for x in ids if x and x not in ("none", "n/a"))


def amd_gpu_name(smi, handle) -> str:
    """The GPU's market name ("AMD Instinct MI300X"), else "AMD GPU <device id>"."""
    info = amd_call(smi, smi.amdsmi_get_gpu_asic_info, handle) or {}
    name = str(info.get("market_name") or "").strip()
    if name and name.upper() != "N/A":
        return name
    device_id = info.get("device_id")
    return f"AMD GPU {device_id}" if device_id not in (None, "", "N/A") else "AMD GPU"


def amd_memory_bytes(smi, handle) -> float | None:
    """VRAM size in bytes, None where the driver does not say."""
    vram = getattr(getattr(smi, "AmdSmiMemoryType", None), "VRAM", None)
    if vram is not None and hasattr(smi, "amdsmi_get_gpu_memory_total"):
        total = amd_value(amd_call(smi, smi.amdsmi_get_gpu_memory_total, handle, vram))
        if total:
            return total
    if hasattr(smi, "amdsmi_get_gpu_vram_info"):  # vram_size in MB
        size = amd_value((amd_call(smi, smi.amdsmi_get_gpu_vram_info, handle) or {}).get("vram_size"))
        return size * BYTES_PER_MIB if size else None
    return None


def read_amd_gpus(smi, env: Mapping[str, str] | None = None) -> list[GpuDevice]:
    """The visible GPUs of an initialised amdsmi module."""
    handles = list(smi.amdsmi_get_processor_handles())
    devices = []
    for index in visible_amd_indices(len(handles), lambda i: amd_gpu_ids(smi, handles[i]), env):
        handle = handles[index]
        memory = amd_memory_bytes(smi, handle)
        uuid = amd_call(smi, smi.amdsmi_get_gpu_device_uuid, handle)
        devices.append(GpuDevice(index, amd_gpu_name(smi, handle),
                                 None if memory is None else memory / BYTES_PER_MIB,
                                 None if uuid in (None, "", "N/A") else str(uuid)))
    return devices


def amd_gpu_devices(env: Mapping[str, str] | None = None) -> list[GpuDevice]:
    """The AMD GPUs this run can use; [] without amdsmi, a driver, or a visible GPU."""
    try:
        smi = importlib.import_module("amdsmi")
    except ImportError:
        return []
    try:
        smi.amdsmi_init()
    except Exception as exc:  # AmdSmiLibraryException: no amdgpu driver; a machine without AMD GPUs
        log.debug("amdsmi unavailable (%s): no AMD GPUs recorded", exc)
        return []
    try:
        return read_amd_gpus(smi, env)
    except getattr(smi, "AmdSmiException", Exception) as exc:
        log.warning("amdsmi error while listing GPUs (%s): none recorded", exc)
        return []
    finally:
        amd_call(smi, smi.amdsmi_shut_down)


def gpu_record(env: Mapping[str, str] | None = None) -> dict:
    """``{"<index>": {"Name", "Memory" (MiB), "UUID"}}`` of the visible GPUs; {} without. NVIDIA's
    by NVML index, then AMD's by amdsmi index (``"amd<index>"`` where an NVIDIA GPU holds the key)."""
    record = {str(gpu.index): gpu.to_dict() for gpu in gpu_devices(env)}
    for gpu in amd_gpu_devices(env):
        record[str(gpu.index) if str(gpu.index) not in record else f"amd{gpu.index}"] = gpu.to_dict()
    return record


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
