"""Jetson INA3221 rails through simulated sysfs trees (hwmon and iio layouts): the input rail is the
energy, the rails inside it are recorded but never added; unreadable rails are null and named."""
import sys
import time

import pytest

from mlel.monitoring import jetson, measure
from mlel.monitoring.recorder import Recorder
from sysfs_fakes import FakeJetson

ORIN_NANO = [("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")]
NANO = [("POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU")]
TX2 = [("VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_4V0_WIFI"), ("VDD_IN", "VDD_SYS_CPU", "VDD_SYS_DDR")]
AGX_XAVIER = [("GPU", "CPU", "SOC"), ("CV", "VDDRQ", "SYS5V")]


def _run(tree, meter, watts_at, seconds=3.0, step=0.1):
    """Sample every `step` s over a simulated window, the powers set by watts_at(t) before each
    reading; (summary, recorder)."""
    rec = Recorder(meter, step)
    for i in range(round(seconds / step) + 1):
        t = 1000.0 + i * step
        tree.set(watts_at(i * step))
        rec.record(t)
    return rec.summary(), rec


def _truth(watts_at, rail, seconds=3.0, step=0.1):
    """Trapezoid of the simulated powers at the sample times (the powers move only at samples)."""
    n = round(seconds / step)
    return sum(step * (watts_at(i * step)[rail] + watts_at((i + 1) * step)[rail]) / 2 for i in range(n))


def _orin(t):  # a load step at 1 s: CPU/GPU rail and input rail rise together
    load = 6.0 if t >= 1.0 else 0.0
    return {"VDD_IN": 7.5 + load, "VDD_CPU_GPU_CV": 2.5 + load * 0.8, "VDD_SOC": 1.5}


@pytest.mark.parametrize("layout", ["hwmon", "iio"])
def test_input_rail_is_the_energy_and_inner_rails_are_not_added(tmp_path, layout):
    tree = FakeJetson(tmp_path, ORIN_NANO, _orin(0), layout=layout)
    meter = jetson.JetsonMeter(tmp_path)
    assert [r.key for r in meter.rails] == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
    assert {r.layout for r in meter.rails} == {layout}
    meta = meter.meta()
    assert meta["power_keys"] == ["VDD_IN"] and meta["not_added"] == ["VDD_CPU_GPU_CV", "VDD_SOC"]
    assert "not added" in meta["why"]
    summary, _ = _run(tree, meter, _orin)
    truth = _truth(_orin, "VDD_IN")  # 7.5 W × 3 s + 6 W × 2 s, the step smoothed over one sample
    assert summary["total"]["total_power_draw"] == pytest.approx(truth, rel=0.05)
    assert summary["total"]["total_power_draw"] == pytest.approx(truth, rel=1e-3)
    assert summary["0"]["VDD_CPU_GPU_CV"]["max"] == pytest.approx(2.5 + 4.8, rel=1e-3)  # recorded
    assert summary["0"]["energy_method"] == "trapezoid"


def test_iio_nano_and_two_chip_tx2(tmp_path):
    nano = FakeJetson(tmp_path / "nano", NANO, {"POM_5V_IN": 5.0, "POM_5V_GPU": 2.0, "POM_5V_CPU": 1.0},
                      layout="iio")
    meter = jetson.JetsonMeter(tmp_path / "nano")
    assert meter.energy_keys == ["POM_5V_IN"]
    summary, _ = _run(nano, meter, lambda t: {"POM_5V_IN": 5.0, "POM_5V_GPU": 2.0, "POM_5V_CPU": 1.0})
    assert summary["total"]["total_power_draw"] == pytest.approx(15.0, rel=0.05)
    watts = {"VDD_SYS_GPU": 3.0, "VDD_SYS_SOC": 1.0, "VDD_4V0_WIFI": 0.2, "VDD_IN": 9.0,
             "VDD_SYS_CPU": 2.0, "VDD_SYS_DDR": 1.0}
    tx2 = FakeJetson(tmp_path / "tx2", TX2, watts, layout="iio")
    meter = jetson.JetsonMeter(tmp_path / "tx2")
    assert meter.energy_keys == ["VDD_IN"] and len(meter.rails) == 6  # input rail on the second chip
    summary, _ = _run(tx2, meter, lambda t: watts)
    assert summary["total"]["total_power_draw"] == pytest.approx(27.0, rel=0.05)


def test_without_an_input_rail_the_rails_are_summed(tmp_path):
    watts = {"GPU": 10.0, "CPU": 4.0, "SOC": 3.0, "CV": 0.5, "VDDRQ": 1.0, "SYS5V": 2.5}
    tree = FakeJetson(tmp_path, AGX_XAVIER, watts, volts={"GPU": 0.9, "CPU": 0.85, "SOC": 0.8})
    meter = jetson.JetsonMeter(tmp_path)
    assert meter.energy_keys == list(watts) and "no input rail" in meter.why
    summary, _ = _run(tree, meter, lambda t: watts)
    assert summary["total"]["total_power_draw"] == pytest.approx(21.0 * 3.0, rel=0.05)


def test_unwired_and_disabled_channels_are_skipped_and_repeated_names_kept_apart(tmp_path):
    FakeJetson(tmp_path, [("VDD_IN", "NC", "VDD_SOC"), ("VDD_SOC", "VDD_GPU", "VDD_CPU")],
               {"VDD_IN": 5.0, "NC": 0.0, "VDD_SOC": 1.0, "VDD_GPU": 1.0, "VDD_CPU": 1.0})
    (tmp_path / "ina3221" / "1-0041" / "hwmon" / "hwmon4" / "in3_enable").write_text("0\n")
    keys = [r.key for r in jetson.find_rails(tmp_path)]
    assert keys == ["VDD_IN", "VDD_SOC", "VDD_SOC#2", "VDD_GPU"]  # NC and the disabled VDD_CPU left out


def test_unreadable_and_impossible_rails_are_null_and_named(tmp_path):
    tree = FakeJetson(tmp_path, ORIN_NANO, _orin(0))
    meter = jetson.JetsonMeter(tmp_path)
    rec = Recorder(meter, 0.1)
    rec.record(1.0)
    tree.files["VDD_SOC"][1].unlink()  # the current file vanishes (driver unbound)
    rec.record(1.1)
    tree.files["VDD_IN"][1].write_text("9999999\n")  # 50 kW: a broken reading
    rec.record(1.2)
    series = rec.content()
    assert series["0"]["VDD_SOC"] == [pytest.approx(1.5, rel=1e-3), None, None]  # null, never 0
    assert series["0"]["VDD_IN"][2] is None
    problems = series["_meta"]["problems"]  # in the series file written at the end
    assert any("VDD_SOC" in p and "unreadable" in p for p in problems)
    assert any("VDD_IN" in p and "impossible" in p for p in problems)
    assert len(problems) == 2  # each named once


def test_a_frozen_input_rail_is_named(tmp_path):
    tree = FakeJetson(tmp_path, ORIN_NANO, _orin(0))
    meter = jetson.JetsonMeter(tmp_path)
    for i in range(50):  # 5 s of a live sensor: the input rail moves by a few mA
        tree.set({"VDD_IN": 7.5 + 0.01 * (i % 3)})
        meter.sample(100.0 + 0.1 * i)
    assert meter.problems == []
    for i in range(101):  # then 10 s without a single change
        meter.sample(105.0 + 0.1 * i)
    assert len(meter.problems) == 1 and "VDD_IN frozen" in meter.problems[0]


def test_missing_root_is_unavailable(tmp_path):
    with pytest.raises(jetson.JetsonUnavailable, match="no INA3221"):
        jetson.find_rails(tmp_path / "absent")


def test_measure_on_a_jetson(tmp_path, monkeypatch):
    FakeJetson(tmp_path / "i2c", ORIN_NANO, {"VDD_IN": 8.0, "VDD_CPU_GPU_CV": 3.0, "VDD_SOC": 1.5})
    monkeypatch.setenv("MLEL_JETSON_ROOT", str(tmp_path / "i2c"))
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(tmp_path / "none"))
    monkeypatch.setenv("MLEL_AMD_ENERGY_ROOT", str(tmp_path / "none"))
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    with measure(tmp_path / "run", interval=0.05) as m:
        time.sleep(0.4)
    assert m.sources == {"jetson": "measured"}  # no CPU estimate on top of the board's input
    assert m.energy_ws == pytest.approx(8.0 * (m.end - m.start), rel=0.01)
    assert any("VDD_IN" in n and "recorded, not added" in n for n in m.notes)


def test_sampling_cost_is_inside_the_budget(tmp_path):
    """≤ 5 ms CPU per second at 0.1 s: ≤ 0.5 ms per sample (two chips, six rails, hwmon: 12 files)."""
    FakeJetson(tmp_path, TX2, dict.fromkeys(sum(TX2, ()), 1.0))
    meter = jetson.JetsonMeter(tmp_path)
    t0 = time.thread_time()
    for i in range(200):
        meter.sample(float(i))
    assert (time.thread_time() - t0) / 200 < 0.5e-3
