"""mlel.runlog.logs: the energy of a merged log — one sum of sources, one dynamic energy, no overflow."""
from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

import pytest

from mlel.runlog import merge
from mlel.runlog.logs import MergedLog, Split, parse_log, read_log, split_energy
from mlel.monitoring import measure
from mlel.monitoring.energy import dynamic_energy_j, sum_energy

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "mlee-2022" / "results"
INFER_2022 = "infer_2022_03_03_17_16_59.json"


def reference(name: str = INFER_2022) -> dict:
    return json.loads((REFERENCE / name).read_text())


def with_sources(log: dict, **totals) -> dict:
    """A copy of an inference log whose validation split has exactly these power sources
    (source -> (energy J, duration s, estimated))."""
    log = copy.deepcopy(log)
    split = log["validation"]
    for key in [k for k in split if k.startswith("monitoring_")]:
        split[key] = None
    for source, (energy, duration, estimated) in totals.items():
        split[f"monitoring_{source}"] = {"total": {"total_power_draw": energy, "total_duration": duration,
                                                   "estimated": estimated}}
    return log


def test_energy_sums_every_power_source_once():
    log = with_sources(reference(), pynvml=(300.0, 10.0, False), pyrapl=(50.0, 10.0, False))
    log["validation"]["monitoring_psutil"] = {"total": {"total_power_draw": -1}}  # no power: not added
    run = parse_log(log, "x.json")
    assert run.energy_ws == pytest.approx(350.0)
    assert run.sources == {"pynvml": "measured", "pyrapl": "measured"}


def test_rated_dynamic_energy_uses_the_baseline_over_each_measured_window():
    # GPU measured 10 s at a 20 W idle baseline, CPU 8 s at 5 W; the results window (12 s) is not used
    log = with_sources(reference(), pynvml=(300.0, 10.0, False), estimate=(90.0, 8.0, True))
    log["validation"]["energy"] = {"baseline_power_w": {"pynvml": 20.0, "estimate": 5.0}}
    log["validation"]["duration"] = 12.0
    run = parse_log(log, "x.json")
    assert run.baseline_energy_ws == pytest.approx(20.0 * 10 + 5.0 * 8)
    assert run.dynamic_energy_ws == pytest.approx(390.0 - 240.0)
    assert run.dynamic_energy_ws == pytest.approx(dynamic_energy_j(
        {"pynvml": 300.0, "estimate": 90.0}, {"pynvml": 10.0, "estimate": 8.0},
        {"pynvml": 20.0, "estimate": 5.0}))
    no_baseline = parse_log(with_sources(reference(), pynvml=(300.0, 10.0, False)), "y.json")
    assert no_baseline.baseline_energy_ws is None and no_baseline.dynamic_energy_ws is None


def test_huge_or_broken_energies_are_named_never_raised():
    log = with_sources(reference(), pynvml=(1e308, 10.0, False), pyrapl=(1e308, 10.0, False))
    energy = split_energy(log["validation"])
    assert energy.energy_j is None and any("overflow" in p.reason for p in energy.problems)
    assert parse_log(log, "x.json").energy_ws is None  # no energy rather than an OverflowError
    bad = with_sources(reference(), pynvml=(float("nan"), 10.0, False), pyrapl=(40.0, 10.0, False))
    energy = split_energy(bad["validation"])
    assert energy.energy_j == 40.0 and "monitoring_pynvml" in energy.problems[0].json_path
    assert sum_energy([1.0, float("inf"), None, "3"]).rejected == ("not finite: inf", "not a number: '3'")
    huge = with_sources(reference(), pynvml=(10**400, 10.0, False), pyrapl=(40.0, 10.0, False))
    energy = split_energy(huge["validation"])  # an integer no float can hold: named, not raised
    assert energy.energy_j == 40.0 and "monitoring_pynvml" in energy.problems[0].json_path
    assert sum_energy([10**400, 2.0]).total_j == 2.0


def test_merged_log_record_writes_the_2022_layout():
    split = Split({"pynvml": None, "estimate": {"total": {"total_power_draw": 5.0}}},
                  {"start": 1.0, "end": 3.0}, 2.0, {"energy_ws": 5.0})
    inference = MergedLog("infer_x", {"model": "m", "backend": "pytorch"}, {"GPU": {}}, ("# 3.11",),
                          "inference", split).to_dict()
    assert list(inference) == ["directory_name", "config", "execution_platform", "requirements", "train",
                               "validation"]
    assert list(inference["validation"]) == ["monitoring_pynvml", "monitoring_pyrapl", "monitoring_psutil",
                                             "monitoring_estimate", "results", "duration", "energy"]
    assert set(reference()["train"]) == set(inference["train"])
    training = MergedLog("train_x", {}, None, (), "training", split, incomplete_reason="SIGTERM").to_dict()
    assert training["monitoring_estimate"]["total"]["total_power_draw"] == 5.0
    assert training["incomplete"] is True and training["incomplete_reason"] == "SIGTERM"


def test_monitor_and_reader_agree_on_dynamic_energy(tmp_path, monkeypatch):
    """The monitor's dynamic energy (energy.json) and the one read back from the merged log are one
    definition: equal to the last bit."""
    monkeypatch.setenv("MLEL_POWERCAP_ROOT", str(tmp_path / "none"))
    monkeypatch.setitem(sys.modules, "pynvml", None)
    folder = tmp_path / "runs" / "infer_2024_06_01_00_00_00"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model": "ResNet101", "backend": "pytorch"}))
    (folder / "execution_platform.json").write_text(json.dumps(reference()["execution_platform"]))
    with measure(folder, interval=0.02, idle_seconds=0.1, prefix="validation_", cpu_tdp=50) as m:
        time.sleep(0.15)
    results = {"start": m.start - 0.5, "end": m.end + 0.5, "model": {"params": 1, "flops": 1, "fsize": 1},
               "metrics": {"accuracy": 0.5, "n_samples": 10}}  # a wider results window must not matter
    (folder / "validation_results.json").write_text(json.dumps(results))
    run = parse_log(merge.merge_run_folder(folder), "x.json")
    assert m.dynamic_energy_ws is not None
    assert run.dynamic_energy_ws == pytest.approx(m.dynamic_energy_ws, rel=1e-12)
    assert run.energy_ws == pytest.approx(m.energy_ws, rel=1e-12)


def test_the_2022_logs_read_as_before():
    run = read_log(REFERENCE / INFER_2022)
    assert run.energy_ws == pytest.approx(37442.03510626758)
    assert run.sources == {"pynvml": "measured"} and run.dynamic_energy_ws is None
