"""amd_energy (AMD CPUs on kernels without an AMD powercap zone) through a simulated hwmon tree:
sockets counted, cores never, wrap-around handled, frozen and broken counters null and named."""
import math
import sys
import time

import pytest

from mlel.monitoring import amd_energy, measure, recorder
from mlel.monitoring.recorder import Recorder
from sysfs_fakes import FakeAmdEnergy

NEAR_WRAP = 2**64 - 30_000_000  # 30 J short of the 64-bit end: the counters wrap within the window


def _run(tree, meter, seconds=3.0, step=0.1, before=None):
    rec = Recorder(meter, step)
    for i in range(round(seconds / step) + 1):
        if i:
            tree.advance(step)
        if before:
            before(i)
        rec.record(500.0 + i * step)
    return rec


def test_counter_delta_wraps():
    assert amd_energy.counter_delta(100, 250) == 150
    assert amd_energy.counter_delta(2**64 - 100, 50) == 150
    assert amd_energy.counter_delta(900, 50, 1000) == 150


def test_sockets_only_cores_and_other_drivers_left_out(tmp_path):
    FakeAmdEnergy(tmp_path, {0: 95.0, 1: 80.0}, cores=8)
    counters, cores = amd_energy.find_counters(tmp_path)
    assert [(c.key, c.label) for c in counters] == [("package-0", "Esocket0"), ("package-1", "Esocket1")]
    assert all("hwmon1" in str(c.path) for c in counters) and cores == 8  # not k10temp's hwmon0


def test_energy_is_power_times_time_through_a_wrap(tmp_path):
    tree = FakeAmdEnergy(tmp_path, {0: 95.0, 1: 80.0}, cores=8, start_uj=NEAR_WRAP)
    meter = amd_energy.AmdEnergyMeter(tmp_path)
    rec = _run(tree, meter)
    assert tree.counter_uj("Esocket0") < NEAR_WRAP  # it wrapped
    summary = rec.summary()
    truth = (95.0 + 80.0) * 3.0  # cores (8 × 50 W) never added
    assert summary["total"]["total_power_draw"] == pytest.approx(truth, rel=0.05)
    assert summary["total"]["total_power_draw"] == pytest.approx(truth, rel=1e-6)
    assert summary["0"]["package-0"]["min"] == pytest.approx(95.0, rel=1e-6)  # no dip at the wrap
    assert summary["0"]["energy_method"] == "interval" and meter.problems == []


def test_a_frozen_counter_is_null_and_named(tmp_path):
    tree = FakeAmdEnergy(tmp_path, {0: 95.0, 1: 80.0})
    meter = amd_energy.AmdEnergyMeter(tmp_path)

    def freeze_at_1s(i):
        if i == 10:
            tree.frozen.add("Esocket1")

    rec = _run(tree, meter, before=freeze_at_1s)
    series = rec.content()["0"]
    assert all(e == pytest.approx(17.5, rel=1e-6) for e in series["energy"][:9])
    assert series["package-1"][10:] == [None] * 20  # null, never 0
    assert series["energy"][20:] == [None] * 10  # once named frozen the interval's total is unknown
    assert not any(e == 0 for e in series["energy"] if e is not None)
    problems = rec.content()["_meta"]["problems"]
    assert len(problems) == 1 and "Esocket1" in problems[0] and "frozen" in problems[0]


def test_a_counter_that_moves_slower_than_the_sampling_loses_nothing(tmp_path):
    """A counter updated every 0.3 s (a caching driver): its energy comes with its next change."""
    tree = FakeAmdEnergy(tmp_path, {0: 95.0})
    meter = amd_energy.AmdEnergyMeter(tmp_path)
    rec = _run(tree, meter, before=lambda i: (tree.frozen.discard if i % 3 == 0 else tree.frozen.add)(
        "Esocket0") or tree._write())
    assert rec.summary()["total"]["total_power_draw"] == pytest.approx(95.0 * 3.0, rel=1e-6)
    powers = rec.content()["0"]["package-0"]
    assert powers.count(None) == 10 and 0.0 not in powers  # between changes: null, never 0 W
    assert all(p == pytest.approx(95.0, rel=1e-6) for p in powers if p is not None)  # over its span
    assert meter.problems == []


def test_a_backwards_jump_is_null_and_named(tmp_path):
    tree = FakeAmdEnergy(tmp_path, {0: 95.0})
    meter = amd_energy.AmdEnergyMeter(tmp_path)

    def reset_at(i):
        if i == 5:
            tree.offset_uj["Esocket0"] = -10**9  # the driver reloaded: the counter restarts lower
            tree._write()

    rec = _run(tree, meter, before=reset_at)
    series = rec.content()["0"]
    assert series["energy"][4] is None and series["package-0"][4] is None  # the 5th interval
    assert sum(e is None for e in series["energy"]) == 1  # counting goes on from the new value
    assert any("Esocket0" in p and "impossible step" in p for p in meter.problems)


def test_an_unreadable_counter_is_null_and_named(tmp_path):
    tree = FakeAmdEnergy(tmp_path, {0: 95.0, 1: 80.0})
    meter = amd_energy.AmdEnergyMeter(tmp_path)
    meter.sample(1.0)
    tree.advance(0.1)
    tree.paths["Esocket0"].unlink()
    rec = meter.sample(1.1)["0"]
    assert rec["package-0"] is None and rec["energy"] is None
    assert rec["package-1"] == pytest.approx(80.0, rel=1e-6)
    assert any("Esocket0" in p and "unreadable" in p for p in meter.problems)


def test_missing_root_is_unavailable(tmp_path):
    with pytest.raises(amd_energy.AmdEnergyUnavailable, match="no amd_energy socket counter"):
        amd_energy.find_counters(tmp_path / "absent")


def test_measure_with_amd_energy_and_no_rapl(tmp_path, monkeypatch):
    tree = FakeAmdEnergy(tmp_path / "hwmon", {0: 95.0}, start_uj=2**64 - 20_000_000)
    monkeypatch.setenv("MLEL_AMD_ENERGY_ROOT", str(tmp_path / "hwmon"))
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(tmp_path / "none"))
    monkeypatch.setenv("MLEL_JETSON_ROOT", str(tmp_path / "none"))
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    monkeypatch.setattr(recorder, "_clock", tree.clock)
    with measure(tmp_path / "run", interval=0.04) as m:
        time.sleep(0.4)
    assert m.sources == {"amd_energy": "measured"}  # no estimate on top
    assert m.energy_ws == pytest.approx(95.0 * (m.end - m.start), rel=0.01)
    assert tree.counter_uj("Esocket0") < 2**63  # wrapped during the block
    summary = m.summaries["amd_energy"]
    assert math.isfinite(summary["total"]["total_power_draw"])
    assert any("amd_energy (Esocket0; cores not added)" in n for n in m.notes)


def test_sampling_cost_is_inside_the_budget(tmp_path):
    """≤ 5 ms CPU per second at 0.1 s: ≤ 0.5 ms per sample, 2 sockets and 128 cores on the tree."""
    tree = FakeAmdEnergy(tmp_path, {0: 95.0, 1: 80.0}, cores=128)
    meter = amd_energy.AmdEnergyMeter(tmp_path)
    t0 = time.thread_time()
    for i in range(200):
        meter.sample(float(i) * 0.1)
    assert (time.thread_time() - t0) / 200 < 0.5e-3
    assert tree.paths  # cores present, not read
