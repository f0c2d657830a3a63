"""Issue 13 / 14 items of the experiment runner: --repeat, --warmup-batches, the digits head,
a lost console (broken pipe), and the cross-framework ONNX message."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlel.apps.experiment_cli import infer_main
from mlel.experiment import InferOptions, UsageError, run_inference, setup_inference
from mlel.experiment.options import MAX_SEED
from mlel.experiment.repeat import repeat_options
from mlel.experiment.work import warmup_feed

REPO = Path(__file__).resolve().parents[1]
FAST = ["--gpu-monitor-interval", "0.05", "--cpu-monitor-interval", "0.05"]


def configs(folder: Path) -> list[dict]:
    return [json.loads((d / "config.json").read_text()) for d in sorted(folder.iterdir())]


def test_repeat_options_step_the_seed_and_share_one_group():
    runs = repeat_options(InferOptions(model="resnet18", repeat=3, seed=MAX_SEED - 1))
    assert [r.seed for r in runs] == [MAX_SEED - 1, MAX_SEED, 0]      # wraps inside the range
    assert [r.repeat_index for r in runs] == [1, 2, 3]
    assert len({r.repeat_group for r in runs}) == 1 and runs[0].repeat_group
    assert {(r.model, r.batch_size, r.repeat) for r in runs} == {("resnet18", 32, 3)}
    drawn = repeat_options(InferOptions(model="resnet18", repeat=2))   # -1: drawn once, then stepped
    assert drawn[1].seed == (drawn[0].seed + 1) % (MAX_SEED + 1)
    assert repeat_options(InferOptions(model="resnet18"))[0].repeat_group is None


def test_repeat_writes_one_run_folder_per_repeat(tmp_path):
    code = infer_main(["--model", "resnet18", "--backend", "torch", "--dataset", "digits", "--input-size", "32",
                       "-b", "8", "--n-batches", "2", "--seed", "7", "--repeat", "3",
                       "--output-dir", str(tmp_path), *FAST])
    assert code == 0
    cfgs = configs(tmp_path)
    assert len(cfgs) == 3 and all((d / "validation_results.json").is_file() for d in tmp_path.iterdir())
    assert sorted(c["seed"] for c in cfgs) == [7, 8, 9]
    assert sorted(c["repeat_index"] for c in cfgs) == [1, 2, 3] and {c["repeat"] for c in cfgs} == {3}
    assert len({c["repeat_group"] for c in cfgs}) == 1
    measured = {k: v for k, v in cfgs[0].items() if k not in ("seed", "repeat_index", "timestamp")}
    assert all({k: v for k, v in c.items() if k not in ("seed", "repeat_index", "timestamp")} == measured
               for c in cfgs)


def test_a_failing_repeat_stops_the_series(tmp_path, monkeypatch):
    from mlel.backends.torch import TorchBackend
    calls = []
    original = TorchBackend.evaluate

    def evaluate(self, batches, progress=None):
        calls.append(1)
        if len(calls) == 4:  # the second run's measured pass (each run: warm-up, measured)
            raise RuntimeError("device lost")
        return original(self, batches, progress)
    monkeypatch.setattr(TorchBackend, "evaluate", evaluate)
    code = infer_main(["--model", "resnet18", "--backend", "torch", "--input-size", "32", "-b", "2",
                       "--n-batches", "1", "--repeat", "3", "--output-dir", str(tmp_path), *FAST])
    folders = sorted(tmp_path.iterdir())
    assert code == 1 and len(folders) == 2
    assert (folders[0] / "validation_results.json").is_file() and (folders[1] / "incomplete.json").is_file()


@pytest.mark.parametrize("k, sizes, expected", [
    (2, [4, 4, 4], [4, 4]), (2, [4, 4, 3], [4, 4, 3]), (1, [3], [3]), (0, [4, 3], []), (3, [], []),
])
def test_warmup_feed_covers_every_batch_shape(k, sizes, expected):
    feed = [([0] * n, None) for n in sizes]
    assert [len(x) for x, _ in warmup_feed(feed, k)] == expected


def test_warmup_batches_run_before_the_measurement_and_are_recorded(tmp_path, monkeypatch):
    from mlel.backends.torch import TorchBackend
    seen = []
    original = TorchBackend.evaluate

    def evaluate(self, batches, progress=None):
        batches = list(batches)
        monitoring = list(tmp_path.glob("*/validation_monitoring_*"))
        seen.append(([int(x.shape[0]) for x, _ in batches], bool(monitoring)))
        return original(self, batches, progress)
    monkeypatch.setattr(TorchBackend, "evaluate", evaluate)
    # digits validation: 360 samples -> batches of 100, 100, 100, 60
    result = run_inference(InferOptions(model="resnet18", backend="torch", dataset="digits", input_size=32,
                                        batch_size=100, output_dir=str(tmp_path), seed=1,
                                        gpu_monitor_interval=0.05, cpu_monitor_interval=0.05))
    assert result.exit_code == 0
    assert seen[0] == ([100, 100, 60], False)          # warm-up: 2 x the first, the last shape, unmeasured
    assert seen[1] == ([100, 100, 100, 60], True)      # the measured pass
    cfg = json.loads((result.run_dir / "config.json").read_text())
    assert cfg["warmup_batches"] == 2 and cfg["warmup"] == 2
    log = (result.run_dir / "logfile.txt").read_text()
    assert "warm-up: 3 batches" in log
    assert "head: 10 classes, sized to digits" in log and cfg["num_classes"] == 10


@pytest.mark.parametrize("dataset, weights, classes", [
    ("digits", "random", 10), ("synthetic", "random", 1000), ("digits", "pretrained", 1000),
])
def test_untrained_head_is_sized_to_the_data_set(dataset, weights, classes):
    setup = setup_inference(InferOptions(model="resnet18", backend="torch", dataset=dataset, input_size=32,
                                         weights=weights, n_batches=1))
    assert setup.num_classes == classes and f"head: {classes} classes" in setup.notes[0]


def test_onnx_torch_on_a_tensorflow_trained_run_names_the_right_backend(tmp_path):
    run = tmp_path / "train_2024_01_01_00_00_00"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({
        "model": "MobileNetV3Small", "backend": "tensorflow", "epochs": 1, "dataset": "digits",
        "num_classes": 10, "input_size": 32}))
    with pytest.raises(UsageError, match="trained with tensorflow: infer it with --backend tensorflow "
                                         "or onnx_tensorflow"):
        setup_inference(InferOptions(infer_model=str(run), backend="onnx_torch"))


class BrokenConsole:
    """A console whose reader went away: every write and flush fails like a closed pipe."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self):
        return False


@pytest.mark.parametrize("fail", [False, True])
def test_a_broken_console_keeps_the_bookkeeping(tmp_path, monkeypatch, fail):
    from mlel.backends.torch import TorchBackend
    if fail:
        def evaluate(self, batches, progress=None):
            raise RuntimeError("out of memory")
        monkeypatch.setattr(TorchBackend, "evaluate", evaluate)
    monkeypatch.setattr(sys, "stdout", BrokenConsole())
    monkeypatch.setattr(sys, "stderr", BrokenConsole())
    result = run_inference(InferOptions(model="resnet18", backend="torch", input_size=32, batch_size=2,
                                        n_batches=2, output_dir=str(tmp_path), seed=1,
                                        gpu_monitor_interval=0.05, cpu_monitor_interval=0.05))
    names = {p.name for p in result.run_dir.iterdir()}
    if fail:
        assert result.exit_code == 1 and "incomplete.json" in names
        assert "out of memory" in json.loads((result.run_dir / "incomplete.json").read_text())["reason"]
    else:
        assert result.exit_code == 0 and "validation_results.json" in names and "incomplete.json" not in names
        assert "done:" in (result.run_dir / "logfile.txt").read_text()   # the logfile still got it all


def test_a_closed_stdout_pipe_does_not_kill_the_run(tmp_path):
    proc = subprocess.Popen([sys.executable, "infer.py", "--model", "resnet18", "--backend", "torch",
                             "--input-size", "32", "-b", "2", "--n-batches", "2", "--output-dir", str(tmp_path),
                             *FAST], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the run prints anything (| head -0)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, err[-2000:]
    (folder,) = tmp_path.iterdir()
    assert (folder / "validation_results.json").is_file() and not (folder / "incomplete.json").exists()
    assert "BrokenPipeError" not in err


def test_min_duration_repeats_whole_passes_until_the_window_is_long_enough():
    from mlel.backends.base import EvalMetrics
    from mlel.experiment.runner import evaluate_passes
    now = [0.0]
    clock = lambda: now[0]  # noqa: E731 - a fake clock: each pass takes 0.4 s

    def evaluate(batches):
        now[0] += 0.4
        return EvalMetrics(len(batches), loss=1.0, accuracy=0.5, top_5_accuracy=1.0)
    metrics, passes = evaluate_passes(evaluate, lambda: [1, 2, 3], 1.0, clock)
    assert passes == 3 and metrics.n_samples == 9 and metrics.accuracy == 0.5   # 1.2 s >= 1 s
    assert evaluate_passes(evaluate, lambda: [1], 0.0, clock)[1] == 1           # default: one pass


def test_combined_weights_each_pass_by_its_samples():
    from mlel.backends.base import EvalMetrics, combined
    merged = combined([EvalMetrics(30, 1.0, 1.0, 1.0), EvalMetrics(10, 3.0, 0.0, 0.5)])
    assert (merged.n_samples, merged.loss, merged.accuracy, merged.top_5_accuracy) == (40, 1.5, 0.75, 0.875)
    assert combined([EvalMetrics(5), EvalMetrics(7)]) == EvalMetrics(12)


def test_min_duration_run_records_its_passes(tmp_path):
    result = run_inference(InferOptions(model="resnet18", backend="torch", dataset="digits", input_size=32,
                                        batch_size=180, output_dir=str(tmp_path), seed=1,
                                        min_duration_s=0.5, gpu_monitor_interval=0.05,
                                        cpu_monitor_interval=0.05))
    assert result.exit_code == 0
    validation = json.loads((result.run_dir / "validation_results.json").read_text())
    # however fast the machine: whole passes, and at least the minimum measured
    assert validation["passes"] >= 1 and validation["metrics"]["n_samples"] == 360 * validation["passes"]
    assert validation["end"] - validation["start"] >= 0.5
    assert json.loads((result.run_dir / "config.json").read_text())["min_duration_s"] == 0.5


@pytest.mark.parametrize("argv, message", [(["--min-duration", "-1"], ">= 0"),
                                           (["--min-duration", "nan"], "finite"),
                                           (["--min-duration", "2", "--data-parallel", "2"], "data-parallel")])
def test_min_duration_is_checked(tmp_path, argv, message, capsys):
    code = infer_main(["--model", "resnet18", "--dataset", "digits", "--output-dir", str(tmp_path), *argv])
    assert code == 2 and message in capsys.readouterr().err and not any(tmp_path.iterdir())
