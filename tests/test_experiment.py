"""The experiment runner's pieces: run folders, platform, requirements, logfile, options, early ends."""
from __future__ import annotations

import json
import logging
import signal
import sys
from datetime import datetime

import pytest

from mlel import experiment as ex
from mlel.experiment import (InferOptions, Interrupted, TrainOptions, UsageError, create_run_dir,
                             lr_at, run_inference, setup_inference, setup_training)


def test_run_dir_names_and_uniqueness(tmp_path):
    now = datetime(2022, 3, 3, 17, 16, 59)
    a, stamp = create_run_dir(tmp_path / "runs", "infer", now=now)
    b, _ = create_run_dir(tmp_path / "runs", "infer", now=now)
    c, _ = create_run_dir(tmp_path / "runs", "train", suffix="tf", now=now)
    assert stamp == "2022_03_03_17_16_59"
    assert a.name == "infer_2022_03_03_17_16_59" and b.name == "infer_2022_03_03_17_16_59_2"
    assert c.name == "train_2022_03_03_17_16_59_tf"


def test_platform_has_the_2022_keys():
    from mlel.base.platform import platform_record
    info = platform_record()
    assert set(info) == {"System", "Node Name", "Release", "Version", "Machine", "Processor",
                         "Physical cores", "Total cores", "Max Frequency", "Min Frequency",
                         "Current Frequency", "Total", "Available", "Used", "GPU"}
    assert isinstance(info["GPU"], dict) and info["Total cores"] >= 1
    cpuinfo = open("/proc/cpuinfo").read() if sys.platform.startswith("linux") else ""
    if "model name" in cpuinfo:
        assert info["Processor"] in cpuinfo       # the brand string, not platform.processor()


def test_requirements_start_with_python_then_name_version():
    from mlel.base.platform import requirements_lines
    lines = requirements_lines()
    assert lines[0] == f"# {sys.version.splitlines()[0]}"
    pins = [line for line in lines if not line.startswith("#")]
    assert any(line.startswith("numpy==") for line in pins) and all("==" in line for line in pins)


def test_logfile_keeps_what_the_terminal_shows(tmp_path, capsys):
    path = tmp_path / "logfile.txt"
    with ex.tee_output(path):
        print("hello")
        sys.stderr.write("bar 1/3\rbar 2/3\rbar 3/3\n")
        logging.getLogger("mlel.experiment").warning("a warning")
        sys.stderr.write("unterminated")
    text = path.read_text()
    assert text.splitlines() == ["hello", "bar 3/3", "WARNING mlel.experiment: a warning", "unterminated"]
    assert "bar 1/3" in capsys.readouterr().err              # the console got everything


def test_learning_rate_schedules():
    step = TrainOptions(model="m", lr=0.1, lr_step_size=2, lr_gamma=0.5)
    assert [lr_at(step, e) for e in range(5)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    cos = TrainOptions(model="m", lr=0.1, lr_scheduler="cosine", epochs=4)
    assert lr_at(cos, 0) == 0.1 and lr_at(cos, 2) == pytest.approx(0.05)


def test_seed_minus_one_draws_one():
    assert ex.resolve_seed(7) == 7
    drawn = {ex.resolve_seed(-1) for _ in range(5)}
    assert len(drawn) > 1 and all(0 <= s < 2 ** 32 for s in drawn)


@pytest.mark.parametrize("opts,message", [
    (InferOptions(model="NoSuchNet"), "unknown model"),
    (InferOptions(model="resnet18", backend="mxnet"), "valid choices"),
    (InferOptions(model="resnet18", dataset="imagenet"), "--data-path"),
    (InferOptions(model="resnet18", batch_size=0), "--batch-size"),
    (InferOptions(model="./no/such/run"), "no such run folder"),
    (InferOptions(model="resnet18", eval_preprocessing="nonet"), "unknown model"),
    (TrainOptions(model="resnet18", backend="onnx_torch"), "cannot train"),
    (TrainOptions(model="resnet18", dataset="synthetic"), "no labels"),
    (TrainOptions(model="resnet18", epochs=0), "--epochs"),
])
def test_bad_options_are_usage_errors_before_any_folder(tmp_path, opts, message):
    opts.output_dir = str(tmp_path / "runs")
    with pytest.raises(UsageError, match=message):
        (setup_training if isinstance(opts, TrainOptions) else setup_inference)(opts)
    assert not (tmp_path / "runs").exists()


def small_inference(tmp_path, **kw):
    return InferOptions(model="resnet18", backend="torch", input_size=32, batch_size=4, n_batches=3,
                        output_dir=str(tmp_path), seed=5, gpu_monitor_interval=0.05,
                        cpu_monitor_interval=0.05, **kw)


def test_inference_writes_a_complete_run_folder(tmp_path):
    result = run_inference(small_inference(tmp_path, dataset="digits"))
    assert result.exit_code == 0
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"config.json", "execution_platform.json", "requirements.txt", "logfile.txt",
            "validation_results.json", "validation_monitoring_psutil.json"} <= names
    assert "incomplete.json" not in names
    cfg = json.loads((result.run_dir / "config.json").read_text())
    assert cfg["model"] == "ResNet18" and cfg["infer_model"] == "resnet18" and cfg["backend"] == "pytorch"
    assert cfg["seed"] == 5 and cfg["dataset"] == "digits" and cfg["weights"] == "random"
    assert cfg["n_batches"] == 3 and cfg["input_size"] == 32 and cfg["device"] == "cpu"
    assert cfg["timestamp"] in result.run_dir.name and list(cfg)[0] == "infer_model"
    res = json.loads((result.run_dir / "validation_results.json").read_text())
    assert res["metrics"]["n_samples"] == 12 and 0 <= res["metrics"]["accuracy"] <= 1
    assert res["end"] > res["start"] and set(res["model"]) == {"params", "flops", "fsize"}
    assert "MLEE inference" in (result.run_dir / "logfile.txt").read_text()


@pytest.mark.parametrize("exc,code,reason", [
    (Interrupted(signal.SIGTERM), 143, "SIGTERM"),
    (KeyboardInterrupt(), 130, "SIGINT"),
    (RuntimeError("out of memory"), 1, "error: RuntimeError: out of memory"),
])
def test_a_run_that_ends_early_is_marked_incomplete(tmp_path, monkeypatch, exc, code, reason):
    from mlel.backends.torch import TorchBackend
    calls = []
    original = TorchBackend.evaluate

    def evaluate(self, batches, progress=None):
        calls.append(1)
        if len(calls) == 2:  # the measured pass, after the warm-up
            raise exc
        return original(self, batches, progress)
    monkeypatch.setattr(TorchBackend, "evaluate", evaluate)
    result = run_inference(small_inference(tmp_path))
    assert result.exit_code == code and result.reason == reason
    names = {p.name for p in result.run_dir.iterdir()}
    assert "validation_results.json" not in names
    assert {"config.json", "validation_monitoring_psutil.json", "validation_energy.json"} <= names
    assert json.loads((result.run_dir / "incomplete.json").read_text())["reason"] == reason
    monitoring = json.loads((result.run_dir / "validation_monitoring_psutil.json").read_text())
    assert monitoring["_meta"]["complete"] is True           # flushed on the way out


def test_a_signal_whose_exception_was_swallowed_still_stops_the_next_batch():
    import os
    import signal as signals

    from mlel.experiment import Interrupted, signals_raise

    class Bar:
        n = 0

        def update(self, n):
            self.n += n

    bar = Bar()
    before = signals.signal(signals.SIGINT, signals.default_int_handler)  # not ignored (nohup)
    with signals_raise() as watch:
        tick = watch.ticker(bar)
        tick(1)
        try:  # the handler's exception lands where it is ignored (as in a finaliser)
            os.kill(os.getpid(), signals.SIGINT)
        except Interrupted:
            pass
        with pytest.raises(Interrupted) as caught:
            tick(1)
    assert bar.n == 2 and caught.value.signum == signals.SIGINT
    assert signals.getsignal(signals.SIGINT) is signals.default_int_handler  # restored
    signals.signal(signals.SIGINT, before)


def test_an_ignored_signal_stays_ignored():
    import signal as signals

    from mlel.experiment import signals_raise

    before = signals.signal(signals.SIGINT, signals.SIG_IGN)
    try:
        with signals_raise():
            assert signals.getsignal(signals.SIGINT) is signals.SIG_IGN
            assert signals.getsignal(signals.SIGTERM) not in (signals.SIG_IGN, signals.SIG_DFL)
    finally:
        signals.signal(signals.SIGINT, before)
