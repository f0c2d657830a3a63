"""Issue 13: a run is graded only when its measurement can carry a grade; else it is kept and shown
"not graded: <reason>", never silently rated."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from mlel.runlog.logs import RunLog, load_logs
from mlel.ratings import RatingOptions, rate_entries, rate_runs
from mlel.ratings.gates import MIN_SAMPLES, MIN_WINDOW_S, Gates, gate_reason, record_gate_reason
from mlel.ratings.rated import entries_from_records
from mlel.results import Environment, PropertyValue, Provenance, ResultRecord, read_result_records
from mlel.results.record import MeasuredWindow, SourceWindow


def _window(source="pynvml", duration_s=60.0, samples=600, interval_s=0.1):
    return SimpleNamespace(source=source, duration_s=duration_s, samples=samples, interval_s=interval_s)


def _run(task="inference", duration_s=60.0, warmup=None, windows=()):
    return SimpleNamespace(task=task, duration_s=duration_s, warmup=warmup, windows=tuple(windows))


@pytest.mark.parametrize("run, needle", [
    (_run(windows=[_window(duration_s=0.5, samples=5)]), "measured 0.5 s (minimum 1 s)"),
    (_run(windows=[_window(source="pyrapl", duration_s=2.0, samples=4, interval_s=0.5)]), "4 power sample(s)"),
    # NVML refreshes ~every 100 ms: 40 samples in 1.5 s at 1 ms carry ~15, not 40 … but short of 1/2 coverage
    (_run(windows=[_window(duration_s=1.5, samples=40, interval_s=0.001)]), "monitoring gap"),
    (_run(windows=[_window(duration_s=60.0, samples=200, interval_s=0.1)]), "monitoring gap"),
    (_run(warmup=0, windows=[_window()]), "warm-up measured"),
    (_run(task="training", warmup=0, windows=[_window()]), None),  # warm-up is an inference option
    (_run(duration_s=0.3), "measured 0.3 s"),  # no windows recorded: the run's duration
    (_run(), None),
])
def test_gate_reasons(run, needle):
    reason = gate_reason(run)
    if needle is None:
        assert reason is None
    else:
        assert reason is not None and needle in reason


def test_nvml_refresh_limits_what_samples_count():
    # 1.2 s sampled every 1 ms: 1200 samples, but NVML refreshes ~12 times: still ≥ 5, graded
    assert gate_reason(_run(windows=[_window(duration_s=1.2, samples=1200, interval_s=0.001)])) is None
    strict = Gates(min_samples=20)
    assert "independent samples" in gate_reason(
        _run(windows=[_window(duration_s=1.2, samples=1200, interval_s=0.001)]), strict)
    # the same count from a fast sensor (RAPL) is 1200 independent samples
    assert gate_reason(_run(windows=[_window("pyrapl", 1.2, 1200, 0.001)]), strict) is None


def test_thresholds_are_documented_values():
    assert (MIN_WINDOW_S, MIN_SAMPLES) == (1.0, 5)


def test_every_2022_log_is_graded(reference_dir):
    runs, _ = load_logs(reference_dir)
    assert [gate_reason(run) for run in runs] == [None] * 232


def test_a_short_run_is_kept_and_shown_not_graded(reference_dir):
    runs, _ = load_logs([reference_dir / "infer_2022_03_03_17_30_03.json",
                         reference_dir / "infer_2022_03_03_17_21_20.json"])
    effnet = next(r for r in runs if r.model == "EfficientNetB0")
    short = dataclasses.replace(effnet, file="short.json", duration_s=0.4)
    rated, _ = rate_runs([short, *runs])
    entries = [s for s in rated if s["model"] == "EfficientNetB0"]
    assert len(entries) == 2  # the short run is not pooled with the valid one
    refused = next(s for s in entries if not s["graded"])
    assert refused["logs"] == ["short.json"] and "0.4 s" in refused["not_graded"]
    assert refused["compound"] is None and refused["compound_p"] is None
    assert all(m["rating"] is None and m["rating_p"] is None for m in refused["metrics"].values())
    assert refused["metrics"]["top1_val"]["value"] == pytest.approx(effnet.accuracy)  # values still shown
    graded = next(s for s in entries if s["graded"])
    assert graded["logs"] == [effnet.file] and graded["compound"] in "ABCDE"


def test_a_not_graded_reference_is_no_reference(reference_dir):
    runs, _ = load_logs([reference_dir / "infer_2022_03_03_17_30_03.json",
                         reference_dir / "infer_2022_03_03_17_21_20.json"])
    runs = [dataclasses.replace(r, duration_s=0.2) if r.model == "ResNet101" else r for r in runs]
    rated, warnings = rate_runs(runs)
    effnet = next(s for s in rated if s["model"] == "EfficientNetB0")
    assert effnet["metrics"]["inference_power_draw"]["index"] is None
    assert any("no graded" in w for w in warnings)


def test_cli_shows_not_graded(tmp_path, reference_dir):
    name = "infer_2022_03_03_17_30_03.json"
    log = json.loads((reference_dir / name).read_text())
    log["validation"]["duration"] = 0.25
    (tmp_path / name).write_text(json.dumps(log))
    shutil.copy(reference_dir / "infer_2022_03_03_17_21_20.json", tmp_path)
    out = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path)], capture_output=True,
                         text=True)
    assert out.returncode == 0
    assert "not graded: measured 0.25 s (minimum 1 s)" in out.stdout
    assert f"not graded: EfficientNetB0 (A100 x8 - TensorFlow 2.8.0; {name})" in out.stderr
    assert "1 not graded" in out.stderr


def test_repeated_runs_that_are_not_graded_get_no_letters(reference_dir):
    # two short runs pool into one not graded entry; its reference has an index to offer, but a
    # measurement that cannot carry a grade is not resampled into letters either
    runs, _ = load_logs([reference_dir / "infer_2022_03_03_17_30_03.json",
                         reference_dir / "infer_2022_03_03_17_21_20.json"])
    effnet = next(r for r in runs if r.model == "EfficientNetB0")
    shorts = [dataclasses.replace(effnet, file=f"short{i}.json", duration_s=0.4, energy_ws=effnet.energy_ws * f)
              for i, f in enumerate((0.9, 1.1))]
    rated, _ = rate_runs([*shorts, *runs])
    refused = next(s for s in rated if not s["graded"])
    assert refused["n_runs"] == 2 and refused["compound"] is None and refused["compound_p"] is None
    assert all(m["rating"] is None and m["rating_p"] is None for m in refused["metrics"].values())


# --- records: the same rule on the record route; imported records say the window was not checked ----

def _record(name, window=None, tool="MLEE", energy=1.0):
    return ResultRecord("generic", name, Environment("EPYC"),
                        {"energy_per_run": PropertyValue(energy, "J", "measured")}, Provenance(tool, "x"),
                        window=window)


@pytest.mark.parametrize("duration_s, windows", [
    (0.15, [SourceWindow("pyrapl", 0.15, 2, 0.05)]), (5.0, [SourceWindow("pynvml", 5.0, 4, 0.1)]),
    (60.0, [SourceWindow("pyrapl", 60.0, 200, 0.1)]), (0.3, []), (60.0, [SourceWindow("pynvml", 60.0, 600, 0.1)]),
])
def test_a_record_is_gated_by_the_very_rule_of_a_run(duration_s, windows):
    record = _record("m", MeasuredWindow(duration_s, tuple(windows)))
    as_run = _run(task="generic", duration_s=duration_s, windows=windows)
    assert record_gate_reason(record) == gate_reason(as_run)
    [entry] = entries_from_records([("m.json", record)])
    assert entry.not_graded == gate_reason(as_run) and entry.window_unchecked is None
    [ungated] = entries_from_records([("m.json", record)], gates=None)
    assert ungated.not_graded is None


def test_failing_records_pool_apart_from_passing_ones_of_the_entry():
    good = MeasuredWindow(60.0, (SourceWindow("pyrapl", 60.0, 600, 0.1),))
    short = MeasuredWindow(0.2, (SourceWindow("pyrapl", 0.2, 4, 0.05),))
    records = [("a.json", _record("m", good)), ("b.json", _record("m", short, energy=0.1)),
               ("c.json", _record("m", short, energy=0.2)), ("d.json", _record("m", good, energy=1.2))]
    passed, failed = entries_from_records(records)
    assert passed.logs == ["a.json", "d.json"] and passed.not_graded is None
    assert failed.logs == ["b.json", "c.json"] and failed.not_graded.startswith("2 runs, e.g. pyrapl measured 0.2 s")


def _rated_records(records):
    rated, _ = rate_entries(entries_from_records(records), RatingOptions(scale="best"))
    return [r.to_dict() for r in rated]


def test_imported_mlenergy_records_say_their_window_was_not_checked_and_stay_graded(reference_dir):
    from mlel.importers.mlenergy import import_mlenergy

    leaderboard = reference_dir.parents[1] / "ml-energy-leaderboard"  # beside the 2022 logs in ../shared
    records = import_mlenergy(leaderboard / "tasks" / "gpqa.json").records
    assert records and all(r.window is None for r in records)
    rated = _rated_records([(f"{i}.json", r) for i, r in enumerate(records)])
    assert all(s["graded"] and s["compound"] in "ABCDE" for s in rated)
    assert {s["window_unchecked"] for s in rated} == {
        "window not checked: ML.ENERGY leaderboard does not report its measurement window"}


def test_imported_codecarbon_records_say_their_window_was_not_checked(tmp_path):
    from mlel.importers.codecarbon import import_codecarbon

    header = ("timestamp,project_name,run_id,experiment_id,duration,cpu_energy,gpu_energy,ram_energy,"
              "energy_consumed,cpu_count,cpu_model,gpu_count,gpu_model")
    rows = [f"2024-01-01T00:00:00,proj,r{i},exp,0.5,0.001,0,0.0001,0.0011,2,Intel Xeon,0," for i in (1, 2)]
    (tmp_path / "emissions.csv").write_text("\n".join([header, *rows]) + "\n")
    report = import_codecarbon(tmp_path / "emissions.csv")
    assert len(report.records) == 2, report.problems
    rated = _rated_records([(f"{i}.json", r) for i, r in enumerate(report.records)])
    assert all(s["graded"] for s in rated)  # 0.5 s: an MLEE window that short would not be graded
    assert all("window not checked: CodeCarbon" in s["window_unchecked"] for s in rated)


def test_a_bad_window_is_named_by_its_field(tmp_path):
    data = _record("m", MeasuredWindow(2.0, (SourceWindow("pyrapl", 2.0, 40, 0.05),))).to_dict()
    data["window"]["sources"][0]["samples"] = -3
    (tmp_path / "m.json").write_text(json.dumps(data))
    scan = read_result_records(tmp_path)
    assert scan.records == () and [p.field for p in scan.problems] == ["window.sources[0].samples"]


def test_a_directory_rated_without_gates_leaves_records_ungated_too(tmp_path):
    # one setting, both routes: RatingOptions(gates=None) turns off the merged logs' and the records' gates
    from mlel.ratings.report import rate_directory
    from mlel.results import record_file_name

    record = _record("m", MeasuredWindow(0.15, (SourceWindow("pyrapl", 0.15, 2, 0.05),)))
    (tmp_path / record_file_name(record)).write_text(json.dumps(record.to_dict()))
    [gated] = rate_directory(tmp_path, RatingOptions(scale="best")).rated
    [ungated] = rate_directory(tmp_path, RatingOptions(scale="best", gates=None)).rated
    assert gated["graded"] is False and ungated["graded"] is True
