"""The infer/train command lines without running a model: exit codes, --mlflow, --preprocessing."""
from __future__ import annotations

import json
import sys
import types

import pytest

from mlel.base.errors import EXIT_FAILED, EXIT_OK, EXIT_SIGTERM, EXIT_USAGE, MleeError, OutputError, UsageError
from mlel.apps.experiment_cli import build_infer_parser, cli_main
from mlel.experiment import InferOptions, RunResult, TrainOptions, setup_inference, setup_training


@pytest.fixture
def tracking(monkeypatch):
    """A stand-in for mlel.apps.tracking (H4's module): records calls, can be told to fail."""
    module = types.ModuleType("mlel.apps.tracking")
    module.calls, module.error = [], None

    def tracked_run(run_dir, results_dir):
        if module.error is not None:
            raise module.error
        return types.SimpleNamespace(run_dir=run_dir, not_rated="lone model", summary=None)

    def log_record(record, run_dir, tracking_uri):
        module.calls.append((run_dir, tracking_uri))
        return "run-123"
    module.tracked_run, module.log_record = tracked_run, log_record
    monkeypatch.setitem(sys.modules, "mlel.apps.tracking", module)
    return module


def runner_returning(run_dir, code=EXIT_OK):
    def runner(opts):
        runner.opts = opts
        return RunResult(run_dir, code)
    return runner


def main(runner, *args):
    return cli_main(build_infer_parser("infer"), InferOptions, runner, ["--model", "resnet18", *args])


@pytest.mark.parametrize("flag,uri", [(["--mlflow"], None), (["--mlflow", "file:///tmp/store"], "file:///tmp/store")])
def test_mlflow_logs_a_successful_run(tmp_path, tracking, capsys, flag, uri):
    assert main(runner_returning(tmp_path), *flag) == EXIT_OK
    assert tracking.calls == [(tmp_path, uri)]
    out = capsys.readouterr().out
    assert "run-123" in out
    assert out.count("ratings not logged") == 1 and "rated alone (no --rate-against DIR): lone model" in out


def test_without_the_flag_nothing_is_logged(tmp_path, tracking):
    runner = runner_returning(tmp_path)
    assert main(runner) == EXIT_OK
    assert tracking.calls == [] and not hasattr(runner.opts, "mlflow")  # not an experiment option


def test_a_failed_run_is_not_logged(tmp_path, tracking):
    assert main(runner_returning(tmp_path, EXIT_SIGTERM), "--mlflow") == EXIT_SIGTERM
    assert tracking.calls == []


def test_a_failed_log_exits_1_and_keeps_the_folder(tmp_path, tracking, capsys):
    tracking.error = MleeError("mlflow is not installed")
    assert main(runner_returning(tmp_path), "--mlflow") == EXIT_FAILED
    err = capsys.readouterr().err
    assert "mlflow is not installed" in err and str(tmp_path) in err and tmp_path.is_dir()


def test_a_missing_tracking_module_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlel.apps.tracking", None)  # import -> ImportError
    assert main(runner_returning(tmp_path), "--mlflow") == EXIT_FAILED
    assert "not available" in capsys.readouterr().err


@pytest.mark.parametrize("error,code,usage", [(UsageError("bad option"), EXIT_USAGE, True),
                                              (OutputError("cannot write runs"), EXIT_FAILED, False)])
def test_errors_before_the_run_map_to_their_exit_codes(error, code, usage, capsys):
    def runner(opts):
        raise error
    assert main(runner) == code
    err = capsys.readouterr().err
    assert str(error) in err and err.startswith("usage:") == usage


def test_train_preprocessing_flag_chooses_whose_preprocessing(tmp_path):
    setup = setup_training(TrainOptions(model="resnet18", backend="torch", preprocessing="ResNet50",
                                        output_dir=str(tmp_path)))
    assert setup.backend.preprocess_spec.name == "ResNet50"
    with pytest.raises(UsageError, match="unknown model"):
        setup_training(TrainOptions(model="resnet18", backend="torch", preprocessing="NoSuchNet"))


def test_like_train_repeats_the_training_runs_preprocessing(tmp_path):
    run = tmp_path / "train_2024_01_01_00_00_00"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({
        "model": "ResNet18", "backend": "pytorch", "epochs": 1, "dataset": "digits", "num_classes": 10,
        "input_size": 32, "preprocessing": "VGG16"}))
    like = setup_inference(InferOptions(infer_model=str(run), eval_preprocessing="like-train"))
    builtin = setup_inference(InferOptions(infer_model=str(run)))
    assert like.backend.preprocess_spec.name == "VGG16" and builtin.backend.preprocess_spec is None
