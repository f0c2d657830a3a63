"""NVML, trusted (issue #29): the energy counter checked against integrated power, GPUs without a
counter or without power readings, and MIG instances measured at their parent GPU."""
import json
import sys
import time

import pytest

from mlel.monitoring import measure, nvml, recorder
from mlel.runlog.folder import read_monitoring
from mlel.monitoring.summary import FROZEN_S, MIN_WINDOW_S, TOLERANCE, summarize
from monitoring_fakes import FakeGPU, fake_nvml

META = {"power_keys": ["power_usage"], "energy_key": "energy", "estimated": False}


def series(powers, counter, step_s=1.0):
    """One NVML device's raw series: powers (W) and cumulative counter readings (J) every step_s."""
    ts = [1_700_000_000_000.0 + 1000.0 * step_s * i for i in range(len(powers))]
    return {"0": {"timestamp": ts, "power_usage": list(powers), **({} if counter is None else {"energy": counter})},
            "_meta": dict(META)}


def ramp(n=21):
    """100 -> 300 W over n - 1 seconds: 4000 J integrated (exact for the trapezoid) at n = 21."""
    return [100.0 + 200.0 * i / (n - 1) for i in range(n)]


def cumulative(powers, scale=1.0, step_s=1.0):
    out, total = [0.0], 0.0
    for p0, p1 in zip(powers, powers[1:]):
        total += (p0 + p1) / 2 * step_s * scale
        out.append(total)
    return out


# --- the rule, on series ---------------------------------------------------------------------------

def test_a_counter_50_percent_above_the_power_is_flagged_and_used():
    s = summarize(series(ramp(), cumulative(ramp(), 1.5)))
    d = s["0"]
    assert d["energy_counter_j"] == pytest.approx(6000.0) and d["energy_integrated_j"] == pytest.approx(4000.0)
    assert d["energy_disagreement"] == pytest.approx(0.5)
    assert d["energy_check"] == "disagree" and d["energy_method"] == "counter"
    assert d["total_power_draw"] == pytest.approx(6000.0)  # its mean, 300 W, is one the readings reached
    assert "+50%" in d["energy_note"] and "counter is used" in d["energy_note"]
    assert s["total"]["energy_notes"] == [f"0: {d['energy_note']}"]


def test_agreement_within_the_tolerance_is_not_flagged():
    d = summarize(series(ramp(), cumulative(ramp(), 1 + TOLERANCE * 0.9)))["0"]
    assert d["energy_check"] == "agree" and "energy_note" not in d and d["energy_method"] == "counter"


def test_a_counter_below_every_reading_is_absurd_and_integration_is_used():
    # zeus #181: 187 J by the counter, 327 J by power, at idle (steady power)
    powers = [32.7] * 11
    d = summarize(series(powers, [18.7 * i for i in range(11)]))["0"]
    assert d["energy_check"] == "counter absurd" and d["energy_method"] == "trapezoid"
    assert d["total_power_draw"] == pytest.approx(327.0) and d["energy_counter_j"] == pytest.approx(187.0)
    assert d["energy_disagreement"] == pytest.approx(187 / 327 - 1)
    assert "integrated power is used" in d["energy_note"]


def test_a_frozen_counter_is_never_reported_as_zero():
    # codecarbon #1316: a counter that stops reads 0 kWh; here it stops after 3 s of 20
    counter = [min(i, 3) * 200.0 for i in range(21)]
    d = summarize(series([200.0] * 21, counter))["0"]
    assert d["energy_check"] == "counter frozen" and d["total_power_draw"] == pytest.approx(4000.0)
    assert f"{20 - 3:.1f} s" in d["energy_note"]
    short = [0.0, 10.0] + [10.0] * 3  # stood still for less than FROZEN_S: not judged frozen
    assert summarize(series([100.0] * 5, short, step_s=FROZEN_S / 4))["0"]["energy_check"] == "short window"


def test_a_counter_that_runs_backwards_is_not_used():
    counter = cumulative(ramp())
    counter[10:] = [c - 5000.0 for c in counter[10:]]  # a driver reload
    d = summarize(series(ramp(), counter))["0"]
    assert d["energy_check"] == "counter went backwards" and d["total_power_draw"] == pytest.approx(4000.0)


def test_a_short_window_records_both_but_does_not_judge():
    n = int(MIN_WINDOW_S)  # one second short of a judged window
    d = summarize(series(ramp(n), cumulative(ramp(n), 1.5)))["0"]
    assert d["energy_check"] == "short window" and d["energy_disagreement"] == pytest.approx(0.5)
    assert "energy_note" not in d and d["energy_method"] == "counter"


def test_no_counter_integrates_and_no_reading_is_null_never_zero():
    d = summarize(series(ramp(), None))["0"]
    assert d["energy_check"] == "no counter" and d["energy_method"] == "trapezoid"
    assert d["total_power_draw"] == pytest.approx(4000.0) and d["energy_counter_j"] is None
    failed = summarize(series([None] * 5, [None] * 5))
    assert failed["0"]["total_power_draw"] is None and failed["0"]["energy_problems"]
    assert failed["total"]["total_power_draw"] is None
    # power unreadable, a working counter: the counter, unchecked
    d = summarize(series([None] * 5, [0.0, 1.0, 2.0, 3.0, 4.0]))["0"]
    assert d["total_power_draw"] == 4.0 and d["energy_check"] == "no power readings"


# --- the meter, end to end -------------------------------------------------------------------------

@pytest.fixture
def fast_clock(monkeypatch, tmp_path):
    """Simulated time running 40x faster than the wall clock: a 0.6 s block is a 24 s run."""
    t0 = time.time()
    clock = lambda: t0 + 40 * (time.time() - t0)  # noqa: E731
    monkeypatch.setattr(recorder, "_clock", clock)
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return clock


def run_gpus(monkeypatch, tmp_path, clock, gpus, seconds=0.6):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(gpus, clock=clock))
    with measure(tmp_path, interval=0.03, cpu_interval=0) as m:
        time.sleep(seconds)
    return m


def test_a_simulated_gpu_whose_counter_disagrees_is_flagged_at_the_end_of_the_run(
        monkeypatch, tmp_path, fast_clock, caplog):
    gpus = [FakeGPU("NVIDIA A100", "GPU-aaaa", base=250.0, amp=80.0, period=40.0, counter_scale=1.2),
            FakeGPU("NVIDIA H100", "GPU-bbbb", base=300.0, amp=0.0, counter_scale=1.5)]
    with caplog.at_level("WARNING", logger="mlel.monitoring"):
        m = run_gpus(monkeypatch, tmp_path, fast_clock, gpus)
    s = m.summaries["pynvml"]
    truth = [gpu.energy(m.start, m.end) for gpu in gpus]
    assert s["0"]["energy_check"] == "disagree" and s["0"]["total_power_draw"] == pytest.approx(1.2 * truth[0], rel=0.02)
    assert s["1"]["energy_check"] == "counter absurd" and s["1"]["total_power_draw"] == pytest.approx(truth[1], rel=0.01)
    assert s["1"]["energy_disagreement"] == pytest.approx(0.5, abs=0.02)
    flagged = [n for n in m.result.notes if n.startswith("pynvml ")]
    assert len(flagged) == 2 and json.loads((tmp_path / "energy.json").read_text())["notes"][-2:] == flagged
    assert sum("disagree by" in r.getMessage() or "absurd" in r.getMessage() for r in caplog.records) == 2
    # merge summarises the same series file (runlog.folder.read_monitoring): the same flags
    merged = read_monitoring(tmp_path, "")["pynvml"]
    assert merged["1"]["energy_check"] == "counter absurd" and merged["total"]["energy_notes"]


def test_a_gpu_without_counter_or_power_is_never_zero(monkeypatch, tmp_path, fast_clock):
    gpus = [FakeGPU("Tesla P100", "GPU-cccc", base=120.0, amp=0.0, counter=False),
            FakeGPU("Tesla K80", "GPU-dddd", base=90.0, amp=0.0, counter=False, power_fails=True)]
    m = run_gpus(monkeypatch, tmp_path, fast_clock, gpus, seconds=0.3)
    s = m.summaries["pynvml"]
    assert s["0"]["energy_check"] == "no counter"
    assert s["0"]["total_power_draw"] == pytest.approx(gpus[0].energy(m.start, m.end), rel=0.01)
    assert s["1"]["total_power_draw"] is None and s["1"]["power_usage"]["max"] is None
    raw = json.loads((tmp_path / "monitoring_pynvml.json").read_text())["1"]
    assert set(raw["power_usage"]) == {None}  # unavailable: null in the series, never 0
    assert any("power unavailable" in p for p in m.result.problems)


def test_a_mig_instance_is_measured_at_its_parent_as_the_whole_device(monkeypatch, tmp_path, fast_clock):
    gpus = [FakeGPU("NVIDIA A100", "GPU-aaaa1111", base=250.0, amp=0.0, mig=["MIG-1234abcd", "MIG-5678ef00"]),
            FakeGPU("NVIDIA A100", "GPU-bbbb2222", base=60.0, amp=0.0, mig=[])]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-5678")
    m = run_gpus(monkeypatch, tmp_path, fast_clock, gpus, seconds=0.3)
    s = m.summaries["pynvml"]
    assert set(s) == {"0", "total"} and s["0"]["measured"] == "whole device"
    assert s["0"]["total_power_draw"] == pytest.approx(gpus[0].energy(m.start, m.end), rel=0.01)
    meta = json.loads((tmp_path / "monitoring_pynvml.json").read_text())["_meta"]["devices"]["0"]
    assert meta["mig"] is True and meta["measured"] == "whole device"
    assert any("MIG mode" in n and "whole device" in n for n in m.notes)


@pytest.mark.parametrize("spec, expected", [
    ("MIG-1234", [0]),
    ("MIG-5678ef00,GPU-bbbb", [0, 1]),
    ("MIG-1234abcd,MIG-5678ef00", [0]),     # two instances of one GPU: that GPU, once
    ("MIG-GPU-aaaa1111/1/0", [0]),          # the older form names the parent GPU
    ("MIG-", []),                           # ambiguous
    ("MIG-9999", []),
])
def test_mig_uuids_in_cuda_visible_devices(spec, expected):
    gpus = [FakeGPU("NVIDIA A100", "GPU-aaaa1111", base=1.0, amp=0.0, mig=["MIG-1234abcd", "MIG-5678ef00"]),
            FakeGPU("Tesla V100", "GPU-bbbb2222", base=1.0, amp=0.0)]  # not MIG capable
    assert nvml.visible_indices(fake_nvml(gpus), {"CUDA_VISIBLE_DEVICES": spec}) == expected
