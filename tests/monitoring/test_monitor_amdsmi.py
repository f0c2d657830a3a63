"""AMD GPUs through a stand-in ``amdsmi`` package (tests/monitoring/stand_ins): the real meter
(mlel/monitoring/amdsmi.py) and platform capture against GPUs at a constant power, both API flavours."""
import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest

from mlel.base import platform
from mlel.base.environment import hardware_name
from mlel.monitoring import amdsmi as amd
from mlel.monitoring import measure, meters, sources

STAND_IN = Path(__file__).parent / "stand_ins" / "amdsmi" / "__init__.py"
WATTS = 150.0


def load_stand_in():
    spec = importlib.util.spec_from_file_location("amdsmi", STAND_IN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def smi(monkeypatch, tmp_path):
    """One stand-in AMD GPU at WATTS (rocm6 flavour unless a test says otherwise); no NVML, no RAPL."""
    module = load_stand_in()
    monkeypatch.setitem(sys.modules, "amdsmi", module)  # restored (removed) after the test
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    for name in ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLEE_AMDSMI_WATTS", str(WATTS))
    monkeypatch.setattr(amd, "PROBE_S", 0.05)
    return module


def test_registered_under_its_table_row():
    row = sources.BY_NAME[amd.AMDSMI]
    assert (row.device, row.gives_power, row.gpu_interval, row.in_2022, row.estimated) == ("GPU", True, True, False,
                                                                                          False)
    assert amd.AMDSMI in meters.registered() and amd.AmdSmiMeter.source == amd.AMDSMI
    assert amd.AMDSMI in sources.sources_of("GPU")


@pytest.mark.parametrize("flavour", ["rocm6", "rocm7"])
def test_counter_energy_is_power_times_window(smi, monkeypatch, tmp_path, flavour):
    monkeypatch.setenv("MLEE_AMDSMI_FLAVOUR", flavour)
    with measure(tmp_path, interval=0.03, cpu_interval=0) as m:
        time.sleep(0.5)
    s = m.summaries[amd.AMDSMI]["0"]
    assert m.sources == {amd.AMDSMI: "measured"}
    assert s["energy_method"] == "counter"
    assert s["total_power_draw"] == pytest.approx(WATTS * (m.end - m.start), rel=0.01)
    assert s["total_power_draw_integrated"] == pytest.approx(s["total_power_draw"], rel=0.02)
    assert s["power_usage"]["mean"] == WATTS and s["temperature"]["mean"] == 45
    assert s["util.gpu"]["mean"] == 37
    assert s["util.memory"] == {"min": None, "max": None, "mean": None, "std": None}  # "N/A": null, not 0
    assert s["memory.free"]["mean"] == 191 * 1024 ** 3
    raw = json.loads((tmp_path / "monitoring_amdsmi.json").read_text())
    assert raw["_meta"]["devices"]["0"]["name"] == "AMD Instinct MI300X"
    assert raw["_meta"]["devices"]["0"]["energy_counter"] is True
    assert all(v is None for v in raw["0"]["util.memory"])
    assert "GPU power measured by AMD SMI for GPUs [0]" in m.notes
    assert smi.calls["shutdown"] == 1


def test_power_fields_not_available_are_null_and_the_counter_still_measures(smi, monkeypatch, tmp_path):
    monkeypatch.setenv("MLEE_AMDSMI_POWER", "na")
    with measure(tmp_path, interval=0.03, cpu_interval=0) as m:
        time.sleep(0.3)
    raw = json.loads((tmp_path / "monitoring_amdsmi.json").read_text())
    assert raw["0"]["power_usage"] and all(v is None for v in raw["0"]["power_usage"])
    s = m.summaries[amd.AMDSMI]["0"]
    assert s["energy_method"] == "counter"
    assert s["total_power_draw"] == pytest.approx(WATTS * (m.end - m.start), rel=0.01)


@pytest.mark.parametrize("info, expected", [
    ({"socket_power": 300, "current_socket_power": 290, "average_socket_power": 280}, 300.0),
    ({"socket_power": "N/A", "current_socket_power": 290, "average_socket_power": "N/A"}, 290.0),
    ({"current_socket_power": "N/A", "average_socket_power": 95}, 95.0),  # older ROCm: no socket_power
    ({"socket_power": 2 ** 32 - 1, "average_socket_power": 88}, 88.0),   # C's "unsupported" value
    ({"socket_power": "N/A", "current_socket_power": "N/A", "average_socket_power": "N/A"}, None),
])
def test_power_takes_the_first_field_that_is_a_number(smi, monkeypatch, info, expected):
    monkeypatch.setattr(smi, "amdsmi_get_power_info", lambda handle: info)
    assert amd.power_w(smi, object()) == expected


@pytest.mark.parametrize("reading, joules", [
    ({"energy_accumulator": 1_000_000, "counter_resolution": 15.3, "timestamp": 1}, 15.3),  # ROCm 7
    ({"power": 2_000_000, "counter_resolution": 15.3, "timestamp": 1}, 30.6),               # older
    ({"energy_accumulator": "N/A", "counter_resolution": 15.3}, None),
    ({"power": 5, "counter_resolution": "N/A"}, None),
])
def test_counter_in_both_flavours(smi, monkeypatch, reading, joules):
    monkeypatch.setattr(smi, "amdsmi_get_energy_count", lambda handle: reading)
    assert amd.counter_j(smi, object()) == (None if joules is None else pytest.approx(joules))


@pytest.mark.parametrize("mode, problem", [
    ("frozen", "energy counter frozen"),
    ("absurd", "energy counter absurd"),
    ("missing", "no energy counter"),
])
def test_a_counter_that_fails_the_start_check_is_named_and_power_integrated(smi, monkeypatch, tmp_path, mode,
                                                                            problem):
    monkeypatch.setenv("MLEE_AMDSMI_COUNTER", mode)
    with measure(tmp_path, interval=0.03, cpu_interval=0) as m:
        time.sleep(0.4)
    assert any(n.startswith(f"AMD GPU 0: {problem}") and "integrated from power" in n for n in m.notes), m.notes
    s = m.summaries[amd.AMDSMI]["0"]
    assert s["energy_method"] == "trapezoid"
    assert s["total_power_draw"] == pytest.approx(WATTS * (m.end - m.start), rel=0.02)
    raw = json.loads((tmp_path / "monitoring_amdsmi.json").read_text())
    assert raw["_meta"]["devices"]["0"]["energy_counter"] is False and "energy" not in raw["0"]


def test_a_counter_far_from_the_power_reading_is_absurd(smi, monkeypatch):
    monkeypatch.setenv("MLEE_AMDSMI_WATTS", "2")  # counter implies 2 W ...
    monkeypatch.setattr(smi, "amdsmi_get_power_info", lambda handle: {"socket_power": 300})  # ... power says 300
    sane, notes = amd.probe_counters(smi, {0: object()}, probe_s=0.05)
    assert sane == {} and "absurd" in notes[0] and "power reading 300 W" in notes[0]


IDS = {0: ("00ff74a1-0000", "a1b2c3d4e5f60000"), 1: ("01ff74a1-0000", "a1b2c3d4e5f60001"),
       2: ("02ff74a1-0000", "a1b2c3d4e5f60002")}


@pytest.mark.parametrize("env, expected", [
    ({}, [0, 1, 2]),
    ({"HIP_VISIBLE_DEVICES": "1"}, [1]),
    ({"HIP_VISIBLE_DEVICES": "2,0,2"}, [2, 0]),                          # a repeat counts once
    ({"ROCR_VISIBLE_DEVICES": "1,2", "HIP_VISIBLE_DEVICES": "1"}, [2]),  # HIP indexes ROCR's list
    ({"ROCR_VISIBLE_DEVICES": "GPU-a1b2c3d4e5f60001"}, [1]),             # by unique id
    ({"ROCR_VISIBLE_DEVICES": "02ff74a1"}, [2]),                         # by UUID prefix
    ({"CUDA_VISIBLE_DEVICES": "1"}, [1]),                                # HIP reads it where its own is unset
    ({"HIP_VISIBLE_DEVICES": "0", "CUDA_VISIBLE_DEVICES": "1"}, [0]),
    ({"HIP_VISIBLE_DEVICES": "0,7,1"}, [0]),                             # stops at the first invalid
    ({"ROCR_VISIBLE_DEVICES": "GPU-a1b2"}, []),                          # ambiguous prefix: invalid
    ({"HIP_VISIBLE_DEVICES": ""}, []),
])
def test_visible_devices(env, expected):
    assert platform.visible_amd_indices(3, IDS.__getitem__, env) == expected


def test_only_visible_gpus_are_measured_and_named(smi, monkeypatch, tmp_path):
    monkeypatch.setenv("MLEE_AMDSMI_GPUS", "3")
    monkeypatch.setenv("ROCR_VISIBLE_DEVICES", "1,2")
    monkeypatch.setenv("HIP_VISIBLE_DEVICES", "1")
    with measure(tmp_path, interval=0.03, cpu_interval=0) as m:
        time.sleep(0.2)
    assert set(m.summaries[amd.AMDSMI]) == {"2", "total"}
    assert set(platform.gpu_record()) == {"2"}


def test_no_visible_gpu_and_no_driver_are_notes(smi, monkeypatch, tmp_path):
    monkeypatch.setenv("HIP_VISIBLE_DEVICES", "")
    opened = amd.open_amdsmi(meters.Discovery())
    assert opened.meter is None and "no visible AMD GPU" in opened.notes[0]
    monkeypatch.delenv("HIP_VISIBLE_DEVICES")
    monkeypatch.setenv("MLEE_AMDSMI_INIT", "fail")
    opened = amd.open_amdsmi(meters.Discovery())
    assert opened.meter is None and "amdsmi_init failed" in opened.notes[0] and "DRIVER_NOT_LOADED" in opened.why_not
    assert platform.gpu_record() == {}


def test_without_amdsmi_there_is_no_meter_and_no_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "amdsmi", None)  # import amdsmi -> ImportError
    opened = amd.open_amdsmi(meters.Discovery())
    assert (opened.meter, opened.notes, opened.why_not) == (None, (), "amdsmi is not installed")


def test_the_environment_names_the_gpu_by_its_market_name(smi, monkeypatch):
    record = platform.gpu_record()
    assert record == {"0": {"Name": "AMD Instinct MI300X", "Memory": 192 * 1024.0,
                            "UUID": "00ff74a1-0000-1000-80a3-9dd7b0e5ad1f"}}
    assert hardware_name({"GPU": record, "Processor": "AMD EPYC 7742 64-Core Processor"}) == "MI300X"
    monkeypatch.setenv("MLEE_AMDSMI_GPUS", "2")
    assert hardware_name({"GPU": platform.gpu_record()}) == "MI300X x2"
    monkeypatch.setattr(smi, "amdsmi_get_gpu_asic_info", lambda h: {"market_name": "N/A", "device_id": "0x74a1"})
    monkeypatch.setattr(smi, "amdsmi_get_gpu_memory_total", lambda h, t: "N/A")
    gpu = platform.gpu_record()["0"]
    assert gpu["Name"] == "AMD GPU 0x74a1" and gpu["Memory"] is None  # unknown: null, never 0


@pytest.mark.parametrize("value, expected", [
    (12, 12.0), ("7.5", 7.5), ("N/A", None), (None, None), (-1, None), (2 ** 16 - 1, None),
    (2 ** 64 - 1, None), (float("nan"), None), (True, None),
])
def test_amd_value(value, expected):
    assert platform.amd_value(value) == expected
