"""The meter registry (mlel.monitoring.meters): meters register, discovery iterates them in the
source table's order — NVML, then RAPL for the CPU else the estimate, then the process tree."""
import sys

import pytest

# every meter module, as discovery imports them: importing one registers it
from mlel.monitoring import (amd_energy, amdsmi, estimate, jetson, meters, nvml, powermetrics,  # noqa: F401
                             process, rapl, sources)
from mlel.monitoring.monitor import discover_meters
from monitoring_fakes import TWO_GPUS, FakePowercap, fake_nvml


@pytest.fixture
def devices(monkeypatch, tmp_path):
    """Two simulated GPUs and a simulated RAPL package with DRAM."""
    FakePowercap(tmp_path / "powercap", {"package-0": 40.0, "package-0.dram": 5.0})
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(tmp_path / "powercap"))
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(TWO_GPUS()))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def _sources(found):
    return [(meter.source, interval) for meter, interval in found]


def test_every_meter_is_registered_under_its_table_name_in_discovery_order():
    # a whole board first, then GPUs of every vendor, the CPU's sensors, the estimate, the process tree
    # (the Apple SoC's reader registers on macOS only, or where MLEL_POWERMETRICS points at one)
    linux = tuple(name for name in meters.registered() if name != "apple_silicon")
    assert linux == ("jetson", sources.NVML, "amdsmi", sources.RAPL, "amd_energy", sources.ESTIMATE, sources.PROCESS)
    for meter in (nvml.NvmlMeter, rapl.RaplMeter, estimate.EstimateMeter, process.ProcessMeter):
        assert meter.source in sources.BY_NAME
        assert meter.estimated == sources.BY_NAME[meter.source].estimated


def test_sensors_found_no_estimate_on_top(devices):
    found, notes = discover_meters(0.1, 0.5)
    assert _sources(found) == [("pynvml", 0.1), ("pyrapl", 0.5), ("psutil", 0.5)]
    assert notes == ["GPU power measured by NVML for GPUs [0, 1]",
                     "CPU power measured by RAPL (package-0, package-0.dram)"]
    for meter, _ in found:
        meter.close()


def test_without_rapl_the_estimate_says_why(no_devices):
    found, notes = discover_meters(0.1, 0.5, cpu_tdp=95.0)
    assert _sources(found) == [("estimate", 0.5), ("psutil", 0.5)]
    assert notes[0] == "GPU power not measured: nvidia-ml-py (pynvml) is not installed"
    assert notes[1].startswith("CPU power ESTIMATED (no RAPL: no powercap interface at ")
    assert notes[1].endswith("; TDP 95 W (argument)") and len(notes) == 2


def test_a_zero_interval_turns_that_class_of_meters_off(devices):
    assert _sources(discover_meters(0, 0.5)[0]) == [("pyrapl", 0.5), ("psutil", 0.5)]
    gpus_only, _ = discover_meters(0.1, 0)
    assert _sources(gpus_only) == [("pynvml", 0.1)]
    gpus_only[0][0].close()


class _Meter:
    source, estimated = "fakegpu", False

    def close(self):
        pass


def test_adding_a_meter_is_registering_it(monkeypatch, no_devices):
    """A new GPU sensor: a row in the table and a registered opener; the monitor is not touched.
    It comes before the CPU meters (GPUs first) and discovery passes on why it found nothing."""
    monkeypatch.setattr(meters, "_OPENERS", dict(meters._OPENERS))
    monkeypatch.setitem(sources.BY_NAME, "fakegpu", sources.PowerSource("fakegpu", "GPU", True, True, None, False))
    meters.register_meter("fakegpu")(lambda context: meters.Opened(_Meter(), ("fake GPU found",)))
    found, notes = discover_meters(0.1, 0.5)
    assert _sources(found) == [("fakegpu", 0.1), ("estimate", 0.5), ("psutil", 0.5)]
    assert "fake GPU found" in notes
    with pytest.raises(ValueError, match="not in the source table"):
        meters.register_meter("nosuchsource")
