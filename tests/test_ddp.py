"""Issue 14: data-parallel runs — PyTorch DistributedDataParallel, 2 real processes (gloo) on the
CPU: train and infer a small model on digits, merge with merge_results.py, rate with mlel.ratings."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlel.experiment import InferOptions, UsageError, run_inference
from mlel.experiment.parallel import rank_devices

REPO = Path(__file__).resolve().parents[1]
FAST = ["--gpu-monitor-interval", "0.1", "--cpu-monitor-interval", "0.1"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
pytestmark = pytest.mark.timeout(900)


def run(*args):
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=800, env=ENV)


def only(folder: Path, prefix: str) -> Path:
    (found,) = folder.glob(f"{prefix}_*")
    return found


def load(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


def test_rank_devices():
    assert rank_devices("cuda", 3) == ["cuda:0", "cuda:1", "cuda:2"]
    assert rank_devices("cpu", 2) == ["cpu", "cpu"]


@pytest.mark.parametrize("opts, message", [
    (dict(backend="onnx_torch", data_parallel=2), "no data-parallel mode"),
    (dict(backend="torch", data_parallel=2, n_batches=1), "cannot feed 2 processes"),
    (dict(backend="torch", data_parallel=0), "--data-parallel must be >= 1"),
])
def test_data_parallel_that_cannot_run_is_a_usage_error(tmp_path, opts, message):
    with pytest.raises(UsageError, match=message):
        run_inference(InferOptions(model="resnet18", dataset="digits", input_size=32, output_dir=str(tmp_path),
                                   **opts))
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_ddp_gloo_two_processes_train_infer_merge_rate(tmp_path):
    runs, results = tmp_path / "runs", tmp_path / "results"
    train = run("train.py", "--model", "resnet18", "--backend", "torch", "--input-size", "32", "-b", "32",
                "--n-batches", "8", "--epochs", "2", "--lr", "0.05", "--data-parallel", "2", "--seed", "4",
                "--output-dir", runs, *FAST)
    assert train.returncode == 0, train.stderr[-3000:]
    train_dir = only(runs, "train")
    cfg = load(train_dir, "config.json")
    assert cfg["data_parallel"] == 2 and cfg["devices"] == ["cpu", "cpu"]
    history = load(train_dir, "results.json")["history"]
    assert len(history["loss"]) == 2 and 0 <= history["val_accuracy"][-1] <= 1

    infer = run("infer.py", "--infer-model", train_dir, "--data-parallel", "2", "-b", "50",
                "--output-dir", runs, *FAST)
    assert infer.returncode == 0, infer.stderr[-3000:]
    infer_dir = only(runs, "infer")
    metrics = load(infer_dir, "validation_results.json")["metrics"]
    assert metrics["n_samples"] == 360                      # both ranks' shards, summed: the whole split
    # the same trained model on the same split: the group's accuracy is the training's last val_accuracy
    assert metrics["accuracy"] == pytest.approx(history["val_accuracy"][-1], abs=1e-9)
    assert load(infer_dir, "config.json")["devices"] == ["cpu", "cpu"]

    merge = run("merge_results.py", "--directory", runs, "--output-dir", results)
    assert merge.returncode == 0, merge.stderr[-3000:]
    rated = run("-m", "mlel.ratings", "--directory", results, "--reference", "ResNet18", "--json")
    assert rated.returncode == 0, rated.stderr[-3000:]
    entries = json.loads(rated.stdout)
    assert {(e["task"], e["model"]) for e in entries} == {("inference", "ResNet18"), ("training", "ResNet18")}
    # the environment counts the two processes' devices, not the machine's (issue 14)
    assert all(e["environment"].split(" - ")[0].endswith(" x2") for e in entries), entries
