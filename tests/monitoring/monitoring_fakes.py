"""Simulated devices for the monitoring tests: a powercap sysfs tree and an NVML module.

Both expose the simulated truth (energy actually 'consumed') so tests compare the real monitoring
code's figures against it.
"""
from __future__ import annotations

import math
import os
import threading
import time
import types
from collections import namedtuple
from pathlib import Path


class FakePowercap:
    """A powercap tree in a directory: per socket package-N with core and dram subzones, plus a
    psys zone. Counters (µJ) advance at known watts and wrap at max_energy_range_uj."""

    def __init__(self, root, watts: dict, sockets: int = 1, max_range_uj: int = 10**12,
                 psys_watts: float = 500.0, start_uj: int = 0):
        self.root = Path(root)
        self.max_range_uj = max_range_uj
        self.watts = dict(watts)      # zone key -> W, keys like "package-0", "package-0.dram", "package-0.core"
        self.watts.setdefault("psys", psys_watts)
        self.joules = {k: 0.0 for k in self.watts}  # truth since creation
        self.start_uj = start_uj
        self.paths = {}
        self.t = None
        self._lock = threading.RLock()  # the monitor's threads all call clock()
        for s in range(sockets):
            zone = self.root / f"intel-rapl:{s}"
            self._zone(zone, f"package-{s}", f"package-{s}")
            for j, sub in enumerate(("core", "uncore", "dram")):
                key = f"package-{s}.{sub}"
                if key in self.watts:
                    subdir = zone / f"intel-rapl:{s}:{j}"
                    self._zone(subdir, sub, key)
                    (self.root / subdir.name).symlink_to(subdir)  # sysfs lists subzones flat too
        self._zone(self.root / f"intel-rapl:{sockets}", "psys", "psys")
        (self.root / "intel-rapl-mmio:0").mkdir()  # a duplicate interface some laptops have
        (self.root / "intel-rapl-mmio:0" / "name").write_text("package-0\n")
        self._write()

    def _zone(self, path: Path, name: str, key: str):
        path.mkdir(parents=True)
        (path / "name").write_text(name + "\n")
        (path / "max_energy_range_uj").write_text(f"{self.max_range_uj}\n")
        self.paths[key] = path / "energy_uj"
        self.watts.setdefault(key, 0.0)

    def _write(self):
        for key, path in self.paths.items():
            uj = (self.start_uj + round(self.joules.get(key, 0.0) * 1e6)) % self.max_range_uj
            tmp = path.with_name("energy_uj.tmp")
            tmp.write_text(f"{uj}\n")
            os.replace(tmp, path)  # sysfs reads are atomic: never let the reader see a half write

    def advance(self, seconds: float):
        for key in self.joules:
            self.joules[key] += self.watts[key] * seconds
        self._write()

    def sync(self, now: float) -> float:
        """Advance to wall-clock time `now` (a clock for the monitor that drives the counters)."""
        with self._lock:
            if self.t is not None and now > self.t:
                self.advance(now - self.t)
            self.t = now if self.t is None else max(self.t, now)
        return now

    def clock(self) -> float:
        with self._lock:  # read the time under the lock, so time and counters move together
            return self.sync(time.time())


# --- NVML ------------------------------------------------------------------------------------------

Utilization = namedtuple("Utilization", "gpu memory")
Memory = namedtuple("Memory", "total used free")


class FakeGPU:
    """Power model: base + amp·sin(2πt/period) W, t in wall-clock seconds; counter in mJ since
    an arbitrary driver start (offset), as NVML's.

    Faults: ``counter=False`` no counter (NVMLError_NotSupported); ``counter_scale`` a counter
    reading that many times the truth (1.5: disagrees by +50 %); ``frozen_at`` a counter that stops
    advancing at that time (s); ``power_fails`` every power reading raises NVMLError; ``mig`` the
    UUIDs of its MIG instances (a GPU in MIG mode), None for a GPU that is not MIG capable."""

    def __init__(self, name, uuid, base, amp, period=0.7, counter=True, offset_mj=123_456_789, *,
                 counter_scale=1.0, frozen_at=None, power_fails=False, mig=None):
        self.name, self.uuid = name, uuid
        self.base, self.amp, self.period = base, amp, period
        self.counter, self.offset_mj = counter, offset_mj
        self.counter_scale, self.frozen_at, self.power_fails, self.mig = counter_scale, frozen_at, power_fails, mig

    def power(self, t):
        return self.base + self.amp * math.sin(2 * math.pi * t / self.period)

    def energy(self, t0, t1):
        """Truth: J between wall-clock times t0 and t1."""
        w = 2 * math.pi / self.period
        return self.base * (t1 - t0) - self.amp / w * (math.cos(w * t1) - math.cos(w * t0))

    def counter_mj(self, t):
        if self.frozen_at is not None:
            t = min(t, self.frozen_at)
        return self.offset_mj + int(self.energy(0.0, t) * 1000 * self.counter_scale)


class FakeMigDevice:
    """A MIG instance's handle: its own UUID, its parent GPU."""

    def __init__(self, uuid, parent):
        self.uuid, self.parent, self.name = uuid, parent, f"{parent.name} MIG 1g.5gb"


def fake_nvml(gpus, *, library=True, clock=time.time):
    """A module with pynvml's API over simulated GPUs (inject as sys.modules['pynvml']); ``clock``
    the time its power model and counters follow (a faster one simulates long runs quickly)."""
    m = types.ModuleType("pynvml")
    m.NVML_TEMPERATURE_GPU = 0
    m.NVML_DEVICE_MIG_DISABLE, m.NVML_DEVICE_MIG_ENABLE = 0, 1
    m.calls = {"init": 0, "shutdown": 0}

    class NVMLError(Exception):
        pass

    class NVMLError_NotSupported(NVMLError):
        pass

    class NVMLError_LibraryNotFound(NVMLError):
        pass

    m.NVMLError, m.NVMLError_NotSupported, m.NVMLError_LibraryNotFound = \
        NVMLError, NVMLError_NotSupported, NVMLError_LibraryNotFound

    def nvmlInit():
        if not library:
            raise NVMLError_LibraryNotFound("NVML Shared Library Not Found")
        m.calls["init"] += 1

    def nvmlShutdown():
        m.calls["shutdown"] += 1

    def handle(i):
        if not 0 <= i < len(gpus):
            raise NVMLError("Invalid Argument")
        return gpus[i]

    m.nvmlInit, m.nvmlShutdown = nvmlInit, nvmlShutdown
    m.nvmlDeviceGetCount = lambda: len(gpus)
    m.nvmlDeviceGetHandleByIndex = handle
    m.nvmlDeviceGetName = lambda h: h.name
    m.nvmlDeviceGetUUID = lambda h: h.uuid
    def power(h):
        if h.power_fails:
            raise NVMLError("Unknown Error")
        return int(round(h.power(clock()) * 1000))  # mW

    def energy(h):
        if not h.counter:
            raise NVMLError_NotSupported("Not Supported")
        return h.counter_mj(clock())

    def mig_capable(h):
        if getattr(h, "mig", None) is None:
            raise NVMLError_NotSupported("Not Supported")
        return h

    def mig_handle(h, slot):
        if not 0 <= slot < len(mig_capable(h).mig):
            raise NVMLError("Not Found")  # an empty slot
        return FakeMigDevice(h.mig[slot], h)

    m.nvmlDeviceGetPowerUsage = power
    m.nvmlDeviceGetTotalEnergyConsumption = energy
    m.nvmlDeviceGetMigMode = lambda h: [int(bool(mig_capable(h).mig))] * 2  # [current, pending]
    m.nvmlDeviceGetMaxMigDeviceCount = lambda h: 7 if mig_capable(h) else 0
    m.nvmlDeviceGetMigDeviceHandleByIndex = mig_handle
    m.nvmlDeviceGetDeviceHandleFromMigDeviceHandle = lambda h: h.parent
    m.nvmlDeviceGetTemperature = lambda h, sensor: 40 + int(h.power(clock()) / 20)
    m.nvmlDeviceGetUtilizationRates = lambda h: Utilization(min(100, int(h.power(clock()) / 3)), 20)
    m.nvmlDeviceGetMemoryInfo = lambda h: Memory(40 * 2**30, 10 * 2**30, 30 * 2**30)
    return m


TWO_GPUS = lambda: [  # noqa: E731 - a fresh pair per test
    FakeGPU("NVIDIA A100-SXM4-40GB", "GPU-aaaa1111-0000", base=250.0, amp=80.0, counter=True),
    FakeGPU("Tesla P100-PCIE-16GB", "GPU-bbbb2222-0000", base=120.0, amp=40.0, period=2.0, counter=False),
]
