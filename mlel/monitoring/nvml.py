"""NVIDIA GPUs through NVML (``nvidia-ml-py``, imported as ``pynvml``).

One device per visible GPU, keyed by its NVML index, honouring ``CUDA_VISIBLE_DEVICES`` (indices or
UUID prefixes, stopping at the first invalid entry as CUDA does). Per sample: ``power_usage`` (W),
``energy`` (J since monitoring began, from ``nvmlDeviceGetTotalEnergyConsumption`` on Volta and
newer; absent otherwise), temperature, utilisation and memory; a reading that fails is null, never
0. Energy comes from the counter where there is one and it passes the summary's check against the
integrated power (:mod:`.summary`: both kept, their disagreement recorded, a flag and the value
used above 10 %), else from integrating power — a GPU without a counter is never reported as 0.

MIG: NVML measures power and energy per physical GPU, not per instance. A run on a MIG instance
(``CUDA_VISIBLE_DEVICES=MIG-<uuid>``) is measured at its parent GPU, and a GPU in MIG mode says so:
``"measured": "whole device"`` in the series' device meta and its summary, and in the discovery note.

Numeric ``CUDA_VISIBLE_DEVICES`` entries are read as NVML (PCI bus order) indices. CUDA numbers
GPUs fastest first unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID``; on machines with identical GPUs (the
usual case) the two agree, elsewhere UUIDs are the unambiguous choice.
"""
from __future__ import annotations

import logging

from mlel.base.platform import visible_gpu_indices
from mlel.base.units import mj_to_j, mw_to_w

from .meters import Discovery, Opened, register_meter
from .sources import NVML

log = logging.getLogger("mlel.monitoring")


def load_nvml():
    """The pynvml module (tests put a simulated one in sys.modules['pynvml'])."""
    import pynvml
    return pynvml


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# NVML indices of the GPUs CUDA_VISIBLE_DEVICES lets the run use: the platform capture's own rule,
# so the monitors measure exactly the GPUs the environment names.
visible_indices = visible_gpu_indices


WHOLE_DEVICE = "whole device"


def _mig_enabled(nvml, handle) -> bool:
    """Whether a GPU is in MIG mode (False where NVML cannot tell: not MIG capable)."""
    try:
        return nvml.nvmlDeviceGetMigMode(handle)[0] == nvml.NVML_DEVICE_MIG_ENABLE
    except (nvml.NVMLError, AttributeError):  # pre-Ampere, or a pynvml without MIG
        return False


class NvmlMeter:
    source = NVML
    estimated = False

    def __init__(self, nvml, indices: list[int]):
        self.nvml = nvml
        self.indices = indices
        self.handles = {i: nvml.nvmlDeviceGetHandleByIndex(i) for i in indices}
        self.devices = {}
        self._energy0 = {}
        for i, h in self.handles.items():
            try:
                self._energy0[i] = nvml.nvmlDeviceGetTotalEnergyConsumption(h)
            except nvml.NVMLError:
                pass  # pre-Volta: power integration only
            self.devices[str(i)] = {"name": _text(nvml.nvmlDeviceGetName(h)),
                                    "uuid": _text(nvml.nvmlDeviceGetUUID(h)),
                                    "energy_counter": i in self._energy0}
            if _mig_enabled(nvml, h):  # its instances share the GPU's power: the whole device's
                self.devices[str(i)].update({"mig": True, "measured": WHOLE_DEVICE})

    @property
    def mig_indices(self) -> list[int]:
        return [i for i in self.indices if self.devices[str(i)].get("mig")]

    def meta(self) -> dict:
        return {"power_keys": ["power_usage"], "energy_key": "energy", "estimated": False,
                "method": "NVML energy counter, checked against integrated power; integration without it",
                "devices": self.devices,
                "units": {"power_usage": "W", "energy": "J since start", "temperature": "C",
                          "util.gpu": "%", "util.memory": "%", "memory.used": "bytes",
                          "memory.free": "bytes"}}

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except self.nvml.NVMLError:
            return None

    def sample(self, now: float) -> dict:
        nv = self.nvml
        out = {}
        for i, h in self.handles.items():
            rec = {}
            power = self._call(nv.nvmlDeviceGetPowerUsage, h)
            rec["power_usage"] = None if power is None else mw_to_w(power)
            if i in self._energy0:
                mj = self._call(nv.nvmlDeviceGetTotalEnergyConsumption, h)
                rec["energy"] = None if mj is None else mj_to_j(mj - self._energy0[i])
            rec["temperature"] = self._call(nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU)
            util = self._call(nv.nvmlDeviceGetUtilizationRates, h)
            rec["util.gpu"] = getattr(util, "gpu", None)
            rec["util.memory"] = getattr(util, "memory", None)
            mem = self._call(nv.nvmlDeviceGetMemoryInfo, h)
            rec["memory.used"] = getattr(mem, "used", None)
            rec["memory.free"] = getattr(mem, "free", None)
            out[str(i)] = rec
        return out

    def close(self) -> None:
        _shutdown(self.nvml)


def _shutdown(nvml) -> None:
    """nvmlShutdown, whose failure (a driver gone meanwhile) is logged, never raised."""
    try:
        nvml.nvmlShutdown()
    except nvml.NVMLError as exc:
        log.info("monitoring: nvmlShutdown failed (%s)", exc)


def open_meter(env=None):
    """(NvmlMeter or None, note). None without the library, a driver or a visible GPU."""
    try:
        nvml = load_nvml()
    except ImportError:
        return None, "GPU power not measured: nvidia-ml-py (pynvml) is not installed"
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return None, f"GPU power not measured: no NVML ({exc})"
    try:
        indices = visible_indices(nvml, env)
        if not indices:
            _shutdown(nvml)
            return None, "GPU power not measured: no visible GPU (CUDA_VISIBLE_DEVICES)"
        meter = NvmlMeter(nvml, indices)
        note = f"GPU power measured by NVML for GPUs {indices}"
        if meter.mig_indices:
            note += (f"; GPUs {meter.mig_indices} are in MIG mode: measured as the whole device, "
                     "not the instance the run uses")
        return meter, note
    except nvml.NVMLError as exc:
        _shutdown(nvml)
        return None, f"GPU power not measured: NVML error ({exc})"


@register_meter(NVML)
def open_nvml(context: Discovery) -> Opened:
    """The registry's opener: the GPUs' meter, or a note saying why there is none."""
    try:
        meter, note = open_meter()
    except Exception as exc:  # a broken driver must not stop the experiment: said in a note
        meter, note = None, f"GPU power not measured: NVML failed ({type(exc).__name__}: {exc})"
    return Opened(meter, (note,), why_not=note)
