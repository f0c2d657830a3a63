"""summary.py: series -> SPEC §3 summaries, against hand-computed values and the 2022 logs' shape."""
import json
import math
from pathlib import Path

import pytest

from mlel.monitoring.summary import MonitoringFileError, summarize, summarize_file

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "mlee-2022" / "results"


def reference_log(name):
    return json.loads((REFERENCE / name).read_text())


def test_power_only_series_is_integrated_by_trapezoid():
    # 2022 raw form, no _meta: a linear ramp 100 -> 200 W over 10 s is exactly 1500 J
    ts = [1646327837000.0 + 1000.0 * i for i in range(11)]
    raw = {"0": {"timestamp": ts, "power_usage": [100.0 + 10 * i for i in range(11)],
                 "temperature": [40] * 11}}
    s = summarize(raw)
    assert s["0"]["total_power_draw"] == pytest.approx(1500.0)
    assert s["0"]["energy_method"] == "trapezoid"
    assert s["0"]["power_usage"] == {"min": 100.0, "max": 200.0, "mean": 150.0,
                                     "std": pytest.approx(math.sqrt(1000.0))}
    assert s["0"]["total_duration"] == pytest.approx(10.0)
    assert s["0"]["start_utc"] == "2022-03-03 17:17:17" and s["0"]["end_utc"] == "2022-03-03 17:17:27"
    assert s["total"]["nr_measurements"] == 11 and s["total"]["total_power_draw"] == pytest.approx(1500.0)


def test_interval_series_counts_package_and_dram():
    # RAPL form: each sample is the average power over the `duration` before it
    raw = {"0": {"timestamp": [2000.0, 3000.0, 3500.0], "duration": [1.0, 1.0, 0.5],
                 "package-0": [50.0, 70.0, 40.0], "package-0.dram": [5.0, 5.0, 6.0]},
           "_meta": {"power_keys": ["package-0", "package-0.dram"], "estimated": False}}
    s = summarize(raw)
    assert s["0"]["total_power_draw"] == pytest.approx(50 + 70 + 20 + 5 + 5 + 3)
    assert s["0"]["start_unix"] == pytest.approx(1.0)  # the first interval began 1 s before it
    assert s["0"]["total_duration"] == pytest.approx(2.5)
    assert s["total"]["estimated"] is False


def test_counter_wins_over_integration_and_both_are_kept():
    raw = {"0": {"timestamp": [0.0, 1000.0, 2000.0], "power_usage": [100.0, 100.0, 100.0],
                 "energy": [0.0, 110.0, 230.0]},
           "_meta": {"power_keys": ["power_usage"], "energy_key": "energy"}}
    s = summarize(raw)["0"]
    assert s["total_power_draw"] == 230.0 and s["energy_method"] == "counter"
    assert s["total_power_draw_integrated"] == pytest.approx(200.0)


def test_no_power_source_is_minus_one_like_2022():
    raw = {"4242": {"timestamp": [0.0, 500.0], "cpu_percent": [10.0, 30.0]}}
    s = summarize(raw)
    assert s["4242"]["total_power_draw"] == -1 and s["total"]["total_power_draw"] == -1


def test_empty_missing_and_broken_files(tmp_path):
    assert summarize_file(tmp_path / "absent.json") is None
    (tmp_path / "empty.json").write_text(json.dumps({"_meta": {"source": "x"}}))
    assert summarize_file(tmp_path / "empty.json") is None
    (tmp_path / "trunc.json").write_text('{"0": {"timestamp": [1, 2')
    with pytest.raises(MonitoringFileError, match="trunc.json"):
        summarize_file(tmp_path / "trunc.json")
    (tmp_path / "wrong.json").write_text('[1, 2]')
    with pytest.raises(MonitoringFileError):
        summarize_file(tmp_path / "wrong.json")


@pytest.mark.parametrize("log, section, source", [
    ("infer_2022_03_03_17_16_59.json", "validation", "monitoring_pynvml"),
    ("infer_2022_03_03_17_16_59.json", "validation", "monitoring_psutil"),
    ("infer_2022_03_03_17_36_02.json", "validation", "monitoring_pyrapl"),
])
def test_summary_keys_match_the_2022_logs(log, section, source):
    ref = reference_log(log)[section][source]
    ref_device = next(v for k, v in ref.items() if k != "total")
    quantities = [k for k, v in ref_device.items() if isinstance(v, dict)]
    # a raw series with the 2022 quantities, in the 2022 raw form
    raw = {"0": {"timestamp": [1e12, 1e12 + 200.0, 1e12 + 400.0], **{q: [1.0, 2.0, 3.0] for q in quantities}}}
    ours = summarize(raw)
    extras = {"energy_method", "estimated", "total_power_draw_integrated"}
    assert set(ours["0"]) - extras == set(ref_device)
    assert set(ours["total"]) - extras == set(ref["total"])
    assert list(ours["total"])[:7] == list(ref["total"])  # same order as 2022, too
    # energy: -1 exactly where 2022 had no power; else per power quantity with values 1, 2, 3 W:
    # 0.8 J by trapezoid over 0.2 s steps, or 1·1 + 2·2 + 3·3 = 14 J with interval durations 1, 2, 3 s
    power = [q for q in quantities if q == "power_usage" or q.startswith("package-")]
    assert (ref_device["total_power_draw"] == -1) == (not power)
    per_quantity = 14.0 if "duration" in quantities else 0.8
    expected = per_quantity * len(power) if power else -1
    assert ours["0"]["total_power_draw"] == pytest.approx(expected)
    assert ours["total"]["total_power_draw"] == pytest.approx(expected)


def test_hostile_samples_are_left_out_and_named_never_raised():
    ts = [1_700_000_000_000.0 + 1000.0 * i for i in range(4)]
    raw = {"0": {"timestamp": ts, "power_usage": [1e308, 1e308, 10**400, 100.0], "temperature": [1, 2, 3, 10**400]}}
    s = summarize(raw)  # no OverflowError from fsum, float() or **2
    assert s["0"]["total_power_draw"] is None and "sum overflows a float" in s["0"]["energy_problems"]
    assert s["total"]["total_power_draw"] is None and s["total"]["energy_problems"]
    assert s["0"]["temperature"]["max"] == 3  # the integer no float holds is left out of the statistics
    interval = {"0": {"timestamp": ts, "duration": [1.0, 1.0, float("nan"), 1.0],
                      "package-0": [5.0, float("inf"), 5.0, 5.0]}}
    s = summarize(interval)
    assert s["0"]["total_power_draw"] == 10.0  # the two good intervals
    assert s["0"]["energy_problems"] == ["not finite: inf", "not finite: nan"]
