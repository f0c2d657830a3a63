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
from mlel.ratings import rate_runs
from mlel.ratings.gates import MIN_SAMPLES, MIN_WINDOW_S, Gates, gate_reason


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
