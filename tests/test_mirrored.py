"""Issue 14: TensorFlow MirroredStrategy over 2 logical CPU devices, a real mirrored run in a fresh
process: train and infer a small model on digits, merge with merge_results.py, rate with mlel.ratings."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FAST = ["--gpu-monitor-interval", "0.1", "--cpu-monitor-interval", "0.1"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
pytestmark = pytest.mark.timeout(1200)


def run(*args):
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=1100, env=ENV)


def load(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


@pytest.mark.slow
def test_mirrored_strategy_two_logical_cpus_train_infer_merge_rate(tmp_path):
    runs, results = tmp_path / "runs", tmp_path / "results"
    # batches of 40: the 360 validation digits split evenly, so each step is traced once
    train = run("train.py", "--model", "MobileNetV3Small", "--backend", "tensorflow", "--input-size", "32",
                "-b", "40", "--n-batches", "2", "--epochs", "1", "--data-parallel", "2", "--seed", "4",
                "--output-dir", runs, *FAST)
    assert train.returncode == 0, train.stderr[-3000:]
    (train_dir,) = runs.glob("train_*")
    cfg = load(train_dir, "config.json")
    assert cfg["data_parallel"] == 2 and cfg["devices"] == ["cpu", "cpu"]
    assert "MirroredStrategy over 2 devices" in (train_dir / "logfile.txt").read_text()
    history = load(train_dir, "results.json")["history"]

    infer = run("infer.py", "--infer-model", train_dir, "--data-parallel", "2", "-b", "40",
                "--output-dir", runs, *FAST)
    assert infer.returncode == 0, infer.stderr[-3000:]
    (infer_dir,) = runs.glob("infer_*")
    metrics = load(infer_dir, "validation_results.json")["metrics"]
    assert metrics["n_samples"] == 360 and load(infer_dir, "config.json")["devices"] == ["cpu", "cpu"]
    # both replicas' halves summed: the same model on the same split as the training's evaluation
    assert metrics["accuracy"] == pytest.approx(history["val_accuracy"][-1], abs=1e-6)
    assert metrics["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-4)

    single = run("infer.py", "--infer-model", train_dir, "-b", "40", "--output-dir", tmp_path / "single", *FAST)
    assert single.returncode == 0, single.stderr[-3000:]
    (single_dir,) = (tmp_path / "single").glob("infer_*")
    alone = load(single_dir, "validation_results.json")["metrics"]   # one device: the reference
    assert metrics["accuracy"] == pytest.approx(alone["accuracy"], abs=1e-6)
    assert metrics["loss"] == pytest.approx(alone["loss"], rel=1e-4)

    merge = run("merge_results.py", "--directory", runs, "--output-dir", results)
    assert merge.returncode == 0, merge.stderr[-3000:]
    rated = run("-m", "mlel.ratings", "--directory", results, "--reference", "MobileNetV3Small", "--json")
    assert rated.returncode == 0, rated.stderr[-3000:]
    assert {(e["task"], e["model"]) for e in json.loads(rated.stdout)} == {
        ("inference", "MobileNetV3Small"), ("training", "MobileNetV3Small")}
    # the environment counts the two replicas' devices (issue 14)
    assert all(e["environment"].split(" - ")[0].endswith(" x2") for e in json.loads(rated.stdout))
