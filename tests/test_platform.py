"""mlel.base.platform: CPU brand, GPUs honouring CUDA_VISIBLE_DEVICES (simulated NVML), the record."""
from __future__ import annotations

import sys
import types
from collections import namedtuple

import pytest

from mlel.base import platform as plat
from mlel.base.environment import environment_key

Memory = namedtuple("Memory", "total used free")
GPUS = [("NVIDIA A100-SXM4-40GB", "GPU-aaaa1111-0000", 40 * 2 ** 30),
        ("NVIDIA A100-SXM4-40GB", "GPU-bbbb2222-0000", 40 * 2 ** 30),
        ("Tesla P100-PCIE-16GB", "GPU-cccc3333-0000", 16 * 2 ** 30)]


def fake_pynvml(gpus=GPUS, library=True):
    """pynvml's API over a list of (name, uuid, memory bytes); counts init/shutdown."""
    nvml = types.ModuleType("pynvml")
    nvml.calls = {"init": 0, "shutdown": 0}

    class NVMLError(Exception):
        pass

    def init():
        if not library:
            raise NVMLError("NVML Shared Library Not Found")
        nvml.calls["init"] += 1

    def handle(index):
        if not 0 <= index < len(gpus):
            raise NVMLError("Invalid Argument")
        return gpus[index]

    nvml.NVMLError = NVMLError
    nvml.nvmlInit, nvml.nvmlDeviceGetHandleByIndex = init, handle
    nvml.nvmlShutdown = lambda: nvml.calls.__setitem__("shutdown", nvml.calls["shutdown"] + 1)
    nvml.nvmlDeviceGetCount = lambda: len(gpus)
    nvml.nvmlDeviceGetName = lambda h: h[0].encode()  # older pynvml returns bytes
    nvml.nvmlDeviceGetUUID = lambda h: h[1]
    nvml.nvmlDeviceGetMemoryInfo = lambda h: Memory(h[2], 0, h[2])
    return nvml


@pytest.fixture
def nvml(monkeypatch):
    module = fake_pynvml()
    monkeypatch.setitem(sys.modules, "pynvml", module)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return module


def test_all_gpus_without_cuda_visible_devices(nvml):
    record = plat.gpu_record()
    assert list(record) == ["0", "1", "2"]
    assert record["2"] == {"Name": "Tesla P100-PCIE-16GB", "Memory": 16 * 1024, "UUID": "GPU-cccc3333-0000"}
    assert nvml.calls == {"init": 1, "shutdown": 1}


@pytest.mark.parametrize("visible,indices", [
    ("2", ["2"]),
    ("1,0", ["1", "0"]),
    ("0,0", ["0"]),              # a repeated device counts once
    ("0,7,1", ["0"]),            # CUDA stops at the first invalid entry
    ("GPU-cccc", ["2"]),         # a UUID prefix
    ("GPU-", []),                # ambiguous prefix: invalid
    ("", []),
    ("-1", []),
])
def test_cuda_visible_devices_is_honoured(nvml, monkeypatch, visible, indices):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert list(plat.gpu_record()) == indices


def test_visible_indices_in_cuda_order_without_repeats(nvml):
    assert plat.visible_gpu_indices(nvml, {"CUDA_VISIBLE_DEVICES": "2,0,2"}) == [2, 0]


def test_an_environment_never_counts_gpus_that_were_not_measured(nvml, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert environment_key(plat.platform_record(), "torch", ["torch==2.1.0"]) == "A100 - PyTorch 2.1.0"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert environment_key(plat.platform_record(), "torch", ["torch==2.1.0"]) == "A100 x2 - PyTorch 2.1.0"


def test_an_explicit_environment_mapping_wins_over_the_process_environment(nvml, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert list(plat.gpu_record({"CUDA_VISIBLE_DEVICES": "2"})) == ["2"]
    assert list(plat.gpu_record({})) == ["0", "1", "2"]


def test_no_gpus_without_nvml_library_or_module(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(library=False))
    assert plat.gpu_record() == {}
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    assert plat.gpu_record() == {}


def test_cpu_brand_reads_model_name(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\n"
                       "model name\t: Intel(R) Xeon(R) W-2155 CPU @ 3.30GHz\n")
    assert plat.cpu_brand(cpuinfo) == "Intel(R) Xeon(R) W-2155 CPU @ 3.30GHz"
    assert plat.cpu_brand(tmp_path / "missing")  # falls back to the platform module's answer


def test_platform_record_has_the_2022_keys(nvml):
    record = plat.platform_record()
    assert set(record) == {"System", "Node Name", "Release", "Version", "Machine", "Processor",
                           "Physical cores", "Total cores", "Max Frequency", "Min Frequency",
                           "Current Frequency", "Total", "Available", "Used", "GPU"}
    assert record["Processor"] == plat.cpu_brand() and record["Total"] >= record["Available"] > 0
    assert record["GPU"]["0"]["Name"] == "NVIDIA A100-SXM4-40GB"
