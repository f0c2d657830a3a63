"""A stand-in for AMD's ``amdsmi`` Python package: GPUs at a constant power, for the tests.

Put ``tests/monitoring/stand_ins`` on ``PYTHONPATH`` (or ``sys.path``) and ``import amdsmi`` finds
this. Settings are read from the environment at each call, so a test (or the subprocess it starts)
chooses them:

- ``MLEE_AMDSMI_FLAVOUR``: ``rocm6`` (default; ``amdsmi_get_energy_count`` names the accumulator
  ``power``, only ``average_socket_power`` is a number) or ``rocm7`` (``energy_accumulator``;
  ``socket_power`` and ``current_socket_power`` numbers, ``average_socket_power`` "N/A")
- ``MLEE_AMDSMI_WATTS``: the constant power of every GPU (default 150)
- ``MLEE_AMDSMI_GPUS``: how many GPUs (default 1)
- ``MLEE_AMDSMI_COUNTER``: ``ok`` (default), ``frozen`` (never advances), ``absurd`` (a resolution
  1000x what the counts are in), ``missing`` (the query raises)
- ``MLEE_AMDSMI_POWER``: ``ok`` (default) or ``na`` (every power field "N/A")
- ``MLEE_AMDSMI_NAME``: the market name (default "AMD Instinct MI300X")
- ``MLEE_AMDSMI_INIT``: ``fail`` makes ``amdsmi_init`` raise (no driver)

The energy accumulator advances with the wall clock: counts = offset + W x (t - t0) / resolution.
"""
from __future__ import annotations

import enum
import os
import time

RESOLUTION_UJ = 15.3  # µJ per count, the order real GPUs report
_OFFSET = 7_000_000_000  # counts since an arbitrary driver start
_T0 = time.time()
calls = {"init": 0, "shutdown": 0}


class AmdSmiException(Exception):
    pass


class AmdSmiLibraryException(AmdSmiException):
    def __init__(self, err_code: int, err_info: str = ""):
        super().__init__(f"Error code: {err_code} | {err_info}")
        self.err_code, self.err_info = err_code, err_info


class AmdSmiInitFlags(enum.IntEnum):
    INIT_ALL_PROCESSORS = 0xFFFFFFFF
    INIT_AMD_CPUS = 1 << 0
    INIT_AMD_GPUS = 1 << 1


class AmdSmiMemoryType(enum.IntEnum):
    VRAM = 0
    VIS_VRAM = 1
    GTT = 2


class AmdSmiTemperatureType(enum.IntEnum):
    EDGE = 0
    HOTSPOT = 1
    VRAM = 2


class AmdSmiTemperatureMetric(enum.IntEnum):
    CURRENT = 0


class _Handle:
    def __init__(self, index: int):
        self.index = index


def _setting(name: str, default: str) -> str:
    return os.environ.get(f"MLEE_AMDSMI_{name}", default)


def _flavour() -> str:
    return _setting("FLAVOUR", "rocm6")


def _watts() -> float:
    return float(_setting("WATTS", "150"))


def _not_supported(what: str):
    raise AmdSmiLibraryException(2, f"AMDSMI_STATUS_NOT_SUPPORTED: {what}")


def amdsmi_init(flags: int = AmdSmiInitFlags.INIT_AMD_GPUS) -> None:
    if _setting("INIT", "ok") == "fail":
        raise AmdSmiLibraryException(8, "AMDSMI_STATUS_DRIVER_NOT_LOADED")
    calls["init"] += 1


def amdsmi_shut_down() -> None:
    calls["shutdown"] += 1


def amdsmi_get_processor_handles() -> list:
    return [_Handle(i) for i in range(int(_setting("GPUS", "1")))]


def amdsmi_get_gpu_asic_info(handle) -> dict:
    return {"market_name": _setting("NAME", "AMD Instinct MI300X"), "vendor_id": "0x1002",
            "vendor_name": "Advanced Micro Devices Inc. [AMD/ATI]", "device_id": "0x74a1",
            "rev_id": "0x00", "asic_serial": f"0x{0xA1B2C3D4E5F60000 + handle.index:016X}"}


def amdsmi_get_gpu_device_uuid(handle) -> str:
    return f"{handle.index:02x}ff74a1-0000-1000-80a3-9dd7b0e5ad1f"


def amdsmi_get_power_info(handle) -> dict:
    watts = _watts() if _setting("POWER", "ok") == "ok" else "N/A"
    if _flavour() == "rocm7":
        return {"socket_power": watts, "current_socket_power": watts, "average_socket_power": "N/A",
                "gfx_voltage": 800, "soc_voltage": 700, "mem_voltage": 1100, "power_limit": 750}
    return {"current_socket_power": "N/A", "average_socket_power": watts, "gfx_voltage": 800,
            "soc_voltage": 700, "mem_voltage": 1100, "power_limit": 300}


def amdsmi_get_energy_count(handle) -> dict:
    mode = _setting("COUNTER", "ok")
    if mode == "missing":
        _not_supported("energy count")
    elapsed = 0.0 if mode == "frozen" else time.time() - _T0
    counts = _OFFSET + int(_watts() * elapsed * 1e6 / RESOLUTION_UJ)
    resolution = RESOLUTION_UJ * (1000 if mode == "absurd" else 1)
    key = "energy_accumulator" if _flavour() == "rocm7" else "power"
    return {key: counts, "counter_resolution": resolution, "timestamp": time.time_ns()}


def amdsmi_get_temp_metric(handle, sensor, metric) -> int:
    if sensor == AmdSmiTemperatureType.EDGE and _flavour() == "rocm7":
        _not_supported("edge temperature")  # MI300 has none
    return 45


def amdsmi_get_gpu_activity(handle) -> dict:
    return {"gfx_activity": 37, "umc_activity": "N/A", "mm_activity": "N/A"}


def amdsmi_get_gpu_memory_total(handle, mem_type) -> int:
    return 192 * 1024 ** 3


def amdsmi_get_gpu_memory_usage(handle, mem_type) -> int:
    return 1024 ** 3
