import sys

import pytest


@pytest.fixture
def no_devices(monkeypatch, tmp_path):
    """No GPU and no RAPL, whatever machine the tests run on: the estimate must take over."""
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    # the other sensors a real machine may have: none, so the estimate's path is the one tested
    monkeypatch.setenv("MLEL_JETSON_ROOT", str(tmp_path / "no-jetson"))
    monkeypatch.setenv("MLEL_AMD_ENERGY_ROOT", str(tmp_path / "no-hwmon"))
    monkeypatch.setitem(sys.modules, "amdsmi", None)
