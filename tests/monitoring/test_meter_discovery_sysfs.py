"""Discovery with the Jetson and amd_energy meters: a device is counted once. RAPL is preferred to
amd_energy (a second CPU sensor is never opened), a Jetson's input rail contains its GPU and CPU (no
GPU or CPU meter, no estimate on top), GPUs of two vendors are all opened."""
import sys

import pytest

from mlel.monitoring import meters, sources
from mlel.monitoring.monitor import discover_meters
from monitoring_fakes import TWO_GPUS, FakePowercap, fake_nvml
from sysfs_fakes import FakeAmdEnergy, FakeJetson


@pytest.fixture
def machine(monkeypatch, tmp_path):
    """Nothing found unless a test builds it: every sysfs root points into tmp_path."""
    for var, sub in (("MLEL_POWERCAP_ROOT", "powercap"), ("MLEL_AMD_ENERGY_ROOT", "hwmon"),
                     ("MLEL_JETSON_ROOT", "i2c")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return tmp_path


def _found(gpu=0.1, cpu=0.5, tdp=95.0):
    found, notes = discover_meters(gpu, cpu, tdp)
    for meter, _ in found:
        meter.close()
    return [meter.source for meter, _ in found], notes


def test_discovery_order():
    discover_meters(0, 0)  # imports (registers) every meter module
    order = meters.registered()
    assert order.index("jetson") < order.index("pynvml")  # the board's input rail first
    assert order.index("pyrapl") < order.index("amd_energy") < order.index("estimate")
    assert sources.BY_NAME["amd_energy"].device == "CPU" and sources.BY_NAME["jetson"].device == "board"


def test_rapl_present_amd_energy_not_opened(machine):
    FakePowercap(machine / "powercap", {"package-0": 40.0})
    FakeAmdEnergy(machine / "hwmon", {0: 95.0})
    names, notes = _found()
    assert names == ["pyrapl", "psutil"]  # the same AMD package is not measured twice
    assert not any("amd_energy" in n for n in notes)


def test_rapl_absent_amd_energy_measures_the_cpu(machine):
    FakeAmdEnergy(machine / "hwmon", {0: 95.0, 1: 80.0})
    names, notes = _found()
    assert names == ["amd_energy", "psutil"]  # a real CPU sensor: no estimate
    assert "CPU power measured by amd_energy (Esocket0, Esocket1; cores not added)" in notes


def test_neither_gives_the_estimate_naming_rapl(machine):
    names, notes = _found()
    assert names == ["estimate", "psutil"]
    assert any(n.startswith("CPU power ESTIMATED (no RAPL: ") for n in notes)


def test_a_jetson_board_covers_gpu_and_cpu(machine, monkeypatch):
    FakeJetson(machine / "i2c", [("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")],
               {"VDD_IN": 8.0, "VDD_CPU_GPU_CV": 3.0, "VDD_SOC": 1.5})
    FakePowercap(machine / "powercap", {"package-0": 40.0})
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(TWO_GPUS()))
    names, notes = _found()
    assert names == ["jetson", "psutil"]  # VDD_IN contains them: nothing added on top
    assert not any("NVML" in n or "RAPL" in n for n in notes)


def test_gpus_of_two_vendors_are_both_opened(machine, monkeypatch):
    """The one-sensor rule is not for GPUs: a second GPU meter reads other cards."""
    class _Meter:
        source, estimated = "othergpu", False

        def close(self):
            pass

    monkeypatch.setattr(meters, "_OPENERS", dict(meters._OPENERS))
    monkeypatch.setitem(sources.BY_NAME, "othergpu", sources.PowerSource("othergpu", "GPU", True, True, None, False))
    meters.register_meter("othergpu")(lambda context: meters.Opened(_Meter()))
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(TWO_GPUS()))
    names, _ = _found()
    assert names[:2] == ["pynvml", "othergpu"]
