"""NVML through a simulated pynvml module: the real nvml.py runs against 2 GPUs with a power model."""
import json
import math
import sys
import time

import pytest

from mlel.monitoring import measure, nvml
from monitoring_fakes import TWO_GPUS, fake_nvml


@pytest.fixture
def gpus(monkeypatch, tmp_path):
    """Two simulated GPUs (0: Volta+ with an energy counter, 1: older, power only), no RAPL."""
    devices = TWO_GPUS()
    module = fake_nvml(devices)
    monkeypatch.setitem(sys.modules, "pynvml", module)
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return devices, module


def test_two_gpus_counter_and_integration_match_truth(gpus, tmp_path):
    devices, module = gpus
    with measure(tmp_path, interval=0.03, cpu_interval=0.1) as m:
        time.sleep(0.7)
    s = m.summaries["pynvml"]
    assert set(s) == {"0", "1", "total"}
    for i, gpu in enumerate(devices):
        truth = gpu.energy(m.start, m.end)
        assert s[str(i)]["total_power_draw"] == pytest.approx(truth, rel=0.01), (i, s[str(i)]["nr_measurements"])
        assert s[str(i)]["power_usage"]["max"] <= gpu.base + gpu.amp + 1e-3
    assert s["0"]["energy_method"] == "counter"
    assert s["0"]["total_power_draw_integrated"] == pytest.approx(s["0"]["total_power_draw"], rel=0.02)
    assert s["1"]["energy_method"] == "trapezoid" and s["1"]["energy_check"] == "no counter"
    assert s["0"]["energy_check"] == "short window"  # under 10 s: both kept, not judged (summary.py)
    assert s["total"]["total_power_draw"] == pytest.approx(s["0"]["total_power_draw"] + s["1"]["total_power_draw"])
    # each device once: GPUs plus the estimated CPU, nothing twice
    assert m.sources == {"pynvml": "measured", "estimate": "estimated"}
    assert m.energy_ws == pytest.approx(s["total"]["total_power_draw"]
                                        + m.summaries["estimate"]["total"]["total_power_draw"])
    raw = json.loads((tmp_path / "monitoring_pynvml.json").read_text())
    assert raw["_meta"]["devices"]["1"] == {"name": "Tesla P100-PCIE-16GB", "uuid": "GPU-bbbb2222-0000",
                                             "energy_counter": False}
    assert {"temperature", "util.gpu", "util.memory", "power_usage", "memory.used", "memory.free"} \
        <= set(s["0"])  # the 2022 quantities
    assert "energy" not in s["0"]  # the cumulative counter is summarised as total_power_draw only
    assert module.calls["shutdown"] == 1


@pytest.mark.parametrize("spec, expected", [
    (None, [0, 1]),
    ("1", [1]),
    ("1,0", [1, 0]),
    ("GPU-bbbb", [1]),             # a UUID prefix, as CUDA accepts
    ("0,7,1", [0]),                # CUDA stops at the first invalid entry
    ("GPU-", []),                  # ambiguous prefix: invalid
    ("-1", []),
    ("", []),
])
def test_cuda_visible_devices(gpus, spec, expected):
    _, module = gpus
    env = {} if spec is None else {"CUDA_VISIBLE_DEVICES": spec}
    assert nvml.visible_indices(module, env) == expected


def test_visible_subset_is_the_only_device_measured(gpus, tmp_path, monkeypatch):
    devices, _ = gpus
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-bbbb2222")
    with measure(tmp_path, interval=0.03, cpu_interval=0) as m:
        time.sleep(0.3)
    assert set(m.summaries) == {"pynvml"}  # cpu_interval=0: no CPU meters at all
    assert set(m.summaries["pynvml"]) == {"1", "total"}
    assert m.energy_ws == pytest.approx(devices[1].energy(m.start, m.end), rel=0.01)


def test_no_visible_gpu_means_no_source(gpus, tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with measure(tmp_path, interval=0.05) as m:
        pass
    assert "pynvml" not in m.sources and not (tmp_path / "monitoring_pynvml.json").exists()
    assert any("no visible GPU" in n for n in m.notes)


def test_no_library_is_one_info_line(monkeypatch, tmp_path, caplog):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(TWO_GPUS(), library=False))
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(tmp_path / "none"))
    with caplog.at_level("INFO", logger="mlel.monitoring"):
        with measure(tmp_path, interval=0.05) as m:
            pass
    assert "pynvml" not in m.summaries
    gpu_lines = [r for r in caplog.records if "GPU" in r.getMessage()]
    assert len(gpu_lines) == 1 and gpu_lines[0].levelname == "INFO"
    assert "NVML Shared Library Not Found" in gpu_lines[0].getMessage()


def test_failing_readings_do_not_break_the_series(gpus, tmp_path, monkeypatch):
    devices, module = gpus
    real = module.nvmlDeviceGetPowerUsage
    calls = {"n": 0}

    def flaky(h):
        calls["n"] += 1
        if calls["n"] % 4 == 0:
            raise module.NVMLError("Unknown Error")
        return real(h)

    monkeypatch.setattr(module, "nvmlDeviceGetPowerUsage", flaky)
    with measure(tmp_path, interval=0.03, cpu_interval=0) as m:
        time.sleep(0.4)
    s = m.summaries["pynvml"]["1"]  # the integrated GPU bridges the gaps
    raw = json.loads((tmp_path / "monitoring_pynvml.json").read_text())["1"]
    assert None in raw["power_usage"]  # the failures are in the series ...
    times = [t / 1000 for t, p in zip(raw["timestamp"], raw["power_usage"]) if p is not None]
    # (ms in the log, s here: a round trip through / 1000 may move the last bit)
    assert times[0] == pytest.approx(m.start, abs=1e-6) and times[-1] > times[0]  # ... and readings on both sides of them
    # the trapezoid's own error bound, (T h² / 12) max|P''|, for the widest gap h a loaded machine left
    gpu = devices[1]
    widest = max(b - a for a, b in zip(times, times[1:]))
    bound = (times[-1] - times[0]) * widest ** 2 / 12 * gpu.amp * (2 * math.pi / gpu.period) ** 2
    truth = gpu.energy(times[0], times[-1])  # a failed last reading: integrated up to the one before
    assert abs(s["total_power_draw"] - truth) <= max(0.01 * truth, 1.05 * bound)


def test_broken_driver_does_not_stop_the_experiment(gpus, tmp_path, monkeypatch):
    _, module = gpus

    def broken():
        raise RuntimeError("driver/library version mismatch")

    monkeypatch.setattr(module, "nvmlDeviceGetCount", broken)
    with measure(tmp_path, interval=0.05) as m:
        pass
    assert "pynvml" not in m.sources and m.sources == {"estimate": "estimated"}
    assert any("version mismatch" in n for n in m.notes)


def test_the_fake_speaks_the_real_pynvml_api():
    """Every name nvml.py uses through the fake exists in the installed nvidia-ml-py."""
    real = pytest.importorskip("pynvml")
    fake = fake_nvml(TWO_GPUS())
    names = [n for n in vars(fake) if n.startswith(("nvml", "NVML"))]
    assert len(names) > 10
    missing = [n for n in names if not hasattr(real, n)]
    assert not missing
