"""AMD GPUs through AMD SMI (the ``amdsmi`` Python package that ships with ROCm).

One device per visible GPU, keyed by its amdsmi index (the order of ``amdsmi_get_processor_handles``),
honouring ``ROCR_VISIBLE_DEVICES`` and ``HIP_VISIBLE_DEVICES`` (``CUDA_VISIBLE_DEVICES`` where HIP's
is unset, as HIP reads it): the platform capture's rule, so the environment names exactly the GPUs
measured. Per sample:

- ``power_usage`` (W) from ``amdsmi_get_power_info``: ``socket_power`` (ROCm 7), else
  ``current_socket_power`` (MI300 and newer), else ``average_socket_power`` (Navi, MI200 and older),
  the first that is a number — any of them may be ``"N/A"``;
- ``energy`` (J since the meter opened) from ``amdsmi_get_energy_count``: the accumulator (named
  ``energy_accumulator`` in ROCm 7, ``power`` before) × ``counter_resolution`` (µJ per count);
- ``temperature`` (°C, edge, else hotspot), ``util.gpu`` / ``util.memory`` (gfx / umc activity, %),
  ``memory.used`` / ``memory.free`` (bytes).

A reading that is unavailable is null, never 0. Energy comes from the counter where it is sane,
else from integrating power (the summary keeps both where both exist). The counter is checked when
the meter opens, as Zeus does: over ``PROBE_S`` it must advance, and the power it implies must be
plausible (at most ``MAX_PLAUSIBLE_W``, within ``MAX_POWER_RATIO`` of the power reading); a GPU
whose counter fails is named in a note and measured by power integration.
"""
from __future__ import annotations

import importlib
import logging
import time
from typing import Any, Callable, Mapping

from mlel.base.platform import (BYTES_PER_MIB, amd_call, amd_gpu_ids, amd_gpu_name, amd_memory_bytes, amd_value,
                                visible_amd_indices)
from mlel.base.units import uj_to_j

from .meters import Discovery, Opened, register_meter

AMDSMI = "amdsmi"  # the source's name in the table (mlel.monitoring.sources)
ENERGY_KEY = "energy"
PROBE_S = 0.25  # the counter's start check; AMD's accumulator advances every few ms under any load
MAX_PLAUSIBLE_W = 3000.0  # the largest accelerators draw ~1.4 kW: more is a mis-scaled counter
MAX_POWER_RATIO = 10.0  # counter power vs the power reading: beyond this the counter is not trusted
POWER_FIELDS = ("socket_power", "current_socket_power", "average_socket_power")  # newest first

log = logging.getLogger("mlel.monitoring")

__all__ = ["AMDSMI", "AmdSmiMeter", "counter_j", "open_amdsmi", "open_meter", "power_w", "probe_counters"]


def load_amdsmi():
    """The amdsmi module (tests put a stand-in package on the path)."""
    return importlib.import_module("amdsmi")


def power_w(smi, handle) -> float | None:
    """The GPU's power in W: the first of ``POWER_FIELDS`` that is a number; None if none is."""
    info = amd_call(smi, smi.amdsmi_get_power_info, handle)
    if not isinstance(info, Mapping):
        return None
    for key in POWER_FIELDS:
        watts = amd_value(info.get(key))
        if watts is not None:
            return watts
    return None


def counter_j(smi, handle) -> float | None:
    """The energy accumulator in J (accumulator × resolution), None where it cannot be read."""
    reading = amd_call(smi, smi.amdsmi_get_energy_count, handle)
    if not isinstance(reading, Mapping):
        return None
    raw = reading["energy_accumulator"] if "energy_accumulator" in reading else reading.get("power")  # ROCm 7 | older
    count = amd_value(raw, sentinels=False)
    resolution_uj = amd_value(reading.get("counter_resolution"))
    if count is None or not resolution_uj:
        return None
    return uj_to_j(count * resolution_uj)


def _counter_problem(e0: float | None, e1: float | None, seconds: float, watts: float | None) -> str | None:
    """Why a counter read twice ``seconds`` apart is not trusted; None when it is."""
    if e0 is None or e1 is None:
        return "no energy counter"
    if e1 == e0:
        return f"energy counter frozen over {seconds:.2f} s"
    implied = (e1 - e0) / seconds if seconds > 0 else float("inf")
    if not 0 < implied <= MAX_PLAUSIBLE_W:
        return f"energy counter absurd ({implied:.4g} W implied)"
    if watts is not None and watts >= 1.0 and not 1 / MAX_POWER_RATIO <= implied / watts <= MAX_POWER_RATIO:
        return f"energy counter absurd ({implied:.4g} W implied, power reading {watts:.4g} W)"
    return None


def probe_counters(smi, handles: Mapping[int, Any], probe_s: float = PROBE_S,
                   clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
                   ) -> tuple[dict[int, float], list[str]]:
    """({index: counter J at the end of the probe} of the GPUs whose counter is sane, notes naming
    each GPU whose counter is not, and why). All GPUs are probed over one wait."""
    first = {i: (clock(), counter_j(smi, h)) for i, h in handles.items()}
    if any(e0 is not None for _, e0 in first.values()):
        sleep(probe_s)
    sane, notes = {}, []
    for i, h in handles.items():
        t0, e0 = first[i]
        t1, e1 = clock(), (counter_j(smi, h) if e0 is not None else None)
        problem = _counter_problem(e0, e1, t1 - t0, power_w(smi, h))
        if problem is None:
            sane[i] = e1
        else:
            notes.append(f"AMD GPU {i}: {problem}; its energy is integrated from power instead")
    return sane, notes


class AmdSmiMeter:
    """GPU meter: per visible AMD GPU, power, energy since open (where the counter is sane) and the
    2022 quantities."""
    source = AMDSMI
    estimated = False

    def __init__(self, smi, handles: Mapping[int, Any], probe_s: float | None = None):
        self.smi = smi
        self.handles = dict(handles)
        self._energy0, self.notes = probe_counters(smi, self.handles, PROBE_S if probe_s is None else probe_s)
        self._vram = getattr(getattr(smi, "AmdSmiMemoryType", None), "VRAM", None)
        self._memory_total = {i: amd_memory_bytes(smi, h) for i, h in self.handles.items()}
        temp_type = getattr(smi, "AmdSmiTemperatureType", None)
        self._sensors = [s for s in (getattr(temp_type, "EDGE", None), getattr(temp_type, "HOTSPOT", None))
                         if s is not None]
        self._current = getattr(getattr(smi, "AmdSmiTemperatureMetric", None), "CURRENT", None)
        self.devices = {str(i): {"name": amd_gpu_name(smi, h), "uuid": amd_call(smi, smi.amdsmi_get_gpu_device_uuid, h),
                                 "energy_counter": i in self._energy0,
                                 "memory_mib": None if self._memory_total[i] is None
                                 else self._memory_total[i] / BYTES_PER_MIB}
                        for i, h in self.handles.items()}

    def meta(self) -> dict:
        return {"power_keys": ["power_usage"], "energy_key": ENERGY_KEY, "estimated": False,
                "method": "AMD SMI energy accumulator x counter resolution where sane, else power integration",
                "devices": self.devices, "notes": list(self.notes),
                "units": {"power_usage": "W", ENERGY_KEY: "J since start", "temperature": "C",
                          "util.gpu": "%", "util.memory": "%", "memory.used": "bytes", "memory.free": "bytes"}}

    def _temperature(self, handle) -> float | None:
        for sensor in self._sensors:  # MI300 reports no edge sensor: the hotspot then
            value = amd_value(amd_call(self.smi, self.smi.amdsmi_get_temp_metric, handle, sensor, self._current))
            if value is not None:
                return value
        return None

    def _memory_used(self, handle) -> float | None:
        if self._vram is None:
            return None
        return amd_value(amd_call(self.smi, self.smi.amdsmi_get_gpu_memory_usage, handle, self._vram))

    def sample(self, now: float) -> dict:
        smi, out = self.smi, {}
        for i, h in self.handles.items():
            rec: dict[str, Any] = {"power_usage": power_w(smi, h)}
            if i in self._energy0:
                joules = counter_j(smi, h)
                rec[ENERGY_KEY] = None if joules is None else joules - self._energy0[i]
            rec["temperature"] = self._temperature(h)
            activity = amd_call(smi, smi.amdsmi_get_gpu_activity, h)
            activity = activity if isinstance(activity, Mapping) else {}
            rec["util.gpu"] = amd_value(activity.get("gfx_activity"))
            rec["util.memory"] = amd_value(activity.get("umc_activity"))
            used, total = self._memory_used(h), self._memory_total[i]
            rec["memory.used"] = used
            rec["memory.free"] = None if used is None or total is None else total - used
            out[str(i)] = rec
        return out

    def close(self) -> None:
        _shutdown(self.smi)


def _shutdown(smi) -> None:
    """amdsmi_shut_down, whose failure is logged, never raised."""
    try:
        smi.amdsmi_shut_down()
    except Exception as exc:  # AmdSmiException, or a binding without the library behind it
        log.info("monitoring: amdsmi_shut_down failed (%s)", exc)


def _init(smi) -> None:
    flags = getattr(getattr(smi, "AmdSmiInitFlags", None), "INIT_AMD_GPUS", None)
    if flags is None:
        smi.amdsmi_init()
    else:  # GPUs only: an APU or EPYC host would otherwise list its CPUs as processors too
        smi.amdsmi_init(flags)


def open_meter(env: Mapping[str, str] | None = None, probe_s: float | None = None
               ) -> tuple[AmdSmiMeter | None, list[str], str]:
    """(meter or None, notes, why not). No note where amdsmi is not installed: that is every
    machine without ROCm, and NVML's note already says the GPU is not measured."""
    try:
        smi = load_amdsmi()
    except ImportError:
        return None, [], "amdsmi is not installed"
    try:
        _init(smi)
    except Exception as exc:  # AmdSmiLibraryException: no amdgpu driver
        note = f"AMD GPU power not measured: amdsmi_init failed ({exc})"
        return None, [note], note
    try:
        handles = list(smi.amdsmi_get_processor_handles())
        indices = visible_amd_indices(len(handles), lambda i: amd_gpu_ids(smi, handles[i]), env)
        if not indices:
            _shutdown(smi)
            why = "no AMD GPU" if not handles else "no visible AMD GPU (ROCR_/HIP_VISIBLE_DEVICES)"
            note = f"AMD GPU power not measured: {why}"
            return None, [note], note
        meter = AmdSmiMeter(smi, {i: handles[i] for i in indices}, probe_s)
    except getattr(smi, "AmdSmiException", Exception) as exc:
        _shutdown(smi)
        note = f"AMD GPU power not measured: amdsmi error ({exc})"
        return None, [note], note
    return meter, [*meter.notes, f"GPU power measured by AMD SMI for GPUs {indices}"], ""


@register_meter(AMDSMI)
def open_amdsmi(context: Discovery) -> Opened:
    """The registry's opener: the AMD GPUs' meter, or a note saying why there is none."""
    try:
        meter, notes, why_not = open_meter()
    except Exception as exc:  # a broken driver must not stop the experiment: said in a note
        why_not = f"AMD GPU power not measured: amdsmi failed ({type(exc).__name__}: {exc})"
        meter, notes = None, [why_not]
    return Opened(meter, tuple(notes), why_not=why_not)
