"""End to end: the real infer.py / train.py in subprocesses, on CPU, small models, few batches.

Per backend: inference of a model by name; training on digits (one run per framework for the whole
test session: tests/conftest.py) and then infer.py on the trained run folder with each backend that
can run it, on the whole digits validation split, well above chance (10 classes: 0.1); bad input;
interruptions. Heavy runs are marked slow (they still run in `make test`).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FAST_MONITORING = ["--gpu-monitor-interval", "0.1", "--cpu-monitor-interval", "0.1"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
pytestmark = pytest.mark.timeout(600)


def run(script, *args, cwd=None, timeout=500):
    proc = subprocess.run([sys.executable, str(REPO / script), *map(str, args)], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout, env=ENV)
    return proc


def only_run_dir(out: Path, prefix: str) -> Path:
    runs = sorted(out.glob(f"{prefix}_*"))
    assert len(runs) == 1, runs
    return runs[0]


def load(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


def assert_complete(folder: Path, task: str) -> dict:
    """SPEC §2: the files of a finished run; returns its results."""
    names = {p.name for p in folder.iterdir()}
    prefix = "validation_" if task == "infer" else ""
    assert {"config.json", "execution_platform.json", "requirements.txt", "logfile.txt",
            f"{prefix}results.json", f"{prefix}monitoring_psutil.json"} <= names, names
    assert "incomplete.json" not in names
    assert any(n.startswith(f"{prefix}monitoring_") and "psutil" not in n for n in names)  # a power source
    cfg = load(folder, "config.json")
    for key in ("model", "backend", "dataset", "seed", "batch_size", "gpu_monitor_interval",
                "cpu_monitor_interval", "timestamp", "weights"):
        assert key in cfg, key
    assert cfg["seed"] >= 0 and folder.name.startswith(f"{task}_{cfg['timestamp']}")
    assert isinstance(load(folder, "execution_platform.json")["GPU"], dict)
    assert (folder / "requirements.txt").read_text().startswith("# ")
    assert (folder / "logfile.txt").read_text().strip()
    results = load(folder, f"{prefix}results.json")
    assert results["end"] > results["start"]
    assert results["model"]["params"] > 0 and results["model"]["fsize"] > 0 and results["model"]["flops"] > 0
    return results


# inference by model name -------------------------------------------------------------------------
@pytest.mark.slow
def test_the_default_command_works_without_gpu_data_or_weights(tmp_path):
    """SPEC §7: `python infer.py --model resnet50 --backend torch`, nothing else."""
    proc = run("infer.py", "--model", "resnet50", "--backend", "torch", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = only_run_dir(tmp_path / "runs", "infer")
    results = assert_complete(folder, "infer")
    cfg = load(folder, "config.json")
    assert cfg["model"] == "ResNet50" and cfg["backend"] == "pytorch" and cfg["dataset"] == "synthetic"
    assert cfg["weights"] == "random" and cfg["infer_model"] == "resnet50" and cfg["n_batches"] == 5
    assert results["metrics"] == {"accuracy": None, "top_5_accuracy": None, "loss": None, "n_samples": 160}
    assert results["model"]["params"] == 25_557_032
    assert "untrained" in (folder / "logfile.txt").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("backend,dataset", [
    # labelled digits through every backend: test_infer_a_trained_run_folder (a trained model, so its
    # accuracy is checked too); here each backend builds a model by name, and --dataset is explicit
    ("torch", "digits"), ("tensorflow", "synthetic"), ("onnx_torch", "synthetic"),
    ("onnx_tensorflow", "synthetic"),
])
def test_inference_per_backend_and_dataset(tmp_path, backend, dataset):
    proc = run("infer.py", "--model", "MobileNetV3Small", "--backend", backend, "--dataset", dataset,
               "--input-size", 32, "-b", 8, "--n-batches", 2, "--output-dir", tmp_path, *FAST_MONITORING)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = assert_complete(only_run_dir(tmp_path, "infer"), "infer")
    metrics = results["metrics"]
    assert metrics["n_samples"] == 16
    if dataset == "synthetic":
        assert metrics["accuracy"] is None and metrics["loss"] is None
    else:
        assert 0 <= metrics["accuracy"] <= metrics["top_5_accuracy"] <= 1 and metrics["loss"] > 0


def test_inference_on_an_image_folder(tmp_path):
    """--data-path: an ImageFolder tree (here 2 classes of tiny images) is the imagenet data set."""
    from PIL import Image
    for cls, colour in (("n01440764", (200, 30, 30)), ("n01443537", (30, 30, 200))):
        (tmp_path / "val" / cls).mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (48 + i, 40), colour).save(tmp_path / "val" / cls / f"{i}.JPEG")
    proc = run("infer.py", "--model", "mobilenet_v3_small", "--data-path", tmp_path, "--input-size", 32,
               "-b", 4, "--output-dir", tmp_path / "runs", *FAST_MONITORING)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = only_run_dir(tmp_path / "runs", "infer")
    results = assert_complete(folder, "infer")
    cfg = load(folder, "config.json")
    assert cfg["dataset"] == "imagenet" and cfg["data_path"] == str(tmp_path) and cfg["n_batches"] == 3
    assert results["metrics"]["n_samples"] == 10 and results["metrics"]["accuracy"] is not None


# training, then inference of the trained model -------------------------------------------------------
# torch_trained_run / tf_trained_run: tests/conftest.py, one real train.py run each per test session


def check_training(folder: Path, model: str, backend: str, model_file: str, epochs: int):
    results = assert_complete(folder, "train")
    cfg = load(folder, "config.json")
    assert cfg["model"] == model and cfg["backend"] == backend and cfg["dataset"] == "digits"
    assert cfg["epochs"] == epochs and cfg["full_epochs"] == epochs and cfg["num_classes"] == 10
    history = results["history"]
    assert set(history) == {"loss", "accuracy", "top_5_accuracy", "val_loss", "val_accuracy",
                            "val_top_5_accuracy", "lr", "timestamp"}
    assert all(len(v) == epochs for v in history.values())
    assert history["timestamp"] == sorted(history["timestamp"]) and history["timestamp"][0] > 1e12  # ms
    assert history["loss"][-1] < history["loss"][0]
    assert (folder / model_file).is_file() and results["model"]["fsize"] == (folder / model_file).stat().st_size
    return history


@pytest.mark.slow
def test_torch_training_with_default_recipe(torch_trained_run):
    """train.py's own recipe (only --n-batches limits the batches per epoch) trains well above chance."""
    from mlel.experiment import TrainOptions
    history = check_training(torch_trained_run, "ResNet18", "pytorch", "model.pth", TrainOptions.epochs)
    cfg = load(torch_trained_run, "config.json")
    defaults = TrainOptions()
    for key in ("opt", "lr", "momentum", "weight_decay", "bn_momentum", "lr_scheduler", "batch_size"):
        assert cfg[key] == getattr(defaults, key), key
    assert cfg["input_size"] == 32 and cfg["n_batches"] == 20
    assert history["lr"] == [defaults.lr] * defaults.epochs
    assert history["val_accuracy"][-1] > 0.5


@pytest.mark.slow
def test_tensorflow_training(tf_trained_run):
    history = check_training(tf_trained_run, "MobileNetV3Small", "tensorflow", "model.weights.h5", 2)
    assert load(tf_trained_run, "config.json")["opt"] == "adam"
    assert history["val_accuracy"][-1] > 0.5


@pytest.mark.slow
@pytest.mark.parametrize("trained,backend", [("torch_trained_run", None), ("torch_trained_run", "onnx_torch"),
                                             ("tf_trained_run", None), ("tf_trained_run", "onnx_tensorflow")])
def test_infer_a_trained_run_folder(request, tmp_path, trained, backend):
    train_dir = request.getfixturevalue(trained)
    before = sorted(p.name for p in train_dir.iterdir())
    args = ["--infer-model", train_dir, "--output-dir", tmp_path, *FAST_MONITORING]
    if backend:
        args += ["--backend", backend]
    proc = run("infer.py", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = only_run_dir(tmp_path, "infer")
    results = assert_complete(folder, "infer")
    cfg = load(folder, "config.json")
    trained_cfg = load(train_dir, "config.json")
    assert cfg["infer_model"] == str(train_dir) and cfg["model"] == trained_cfg["model"]
    assert cfg["dataset"] == "digits" and cfg["input_size"] == trained_cfg["input_size"]
    assert results["metrics"]["n_samples"] == 360              # the whole validation split
    assert results["metrics"]["accuracy"] > 0.5                # chance: 0.1
    train_val = load(train_dir, "results.json")["history"]["val_accuracy"][-1]
    assert results["metrics"]["accuracy"] == pytest.approx(train_val, abs=0.01)  # the same model
    assert sorted(p.name for p in train_dir.iterdir()) == before  # the training run is left alone


# bad input -------------------------------------------------------------------------------------------
def test_unknown_model_lists_choices_and_creates_nothing(tmp_path):
    proc = run("infer.py", "--model", "NoSuchNet", "--output-dir", tmp_path)
    assert proc.returncode == 2
    assert "unknown model 'NoSuchNet'" in proc.stderr and "ResNet50" in proc.stderr
    assert not list(tmp_path.iterdir())


def test_unknown_backend_lists_choices(tmp_path):
    proc = run("train.py", "--model", "resnet18", "--backend", "mxnet", "--output-dir", tmp_path)
    assert proc.returncode == 2
    assert "invalid choice: 'mxnet'" in proc.stderr and "onnx_tensorflow" in proc.stderr


def test_missing_data_path_is_named(tmp_path):
    missing = tmp_path / "imagenet"
    proc = run("infer.py", "--model", "resnet18", "--data-path", missing, "--output-dir", tmp_path / "runs")
    assert proc.returncode == 2 and str(missing) in proc.stderr
    proc = run("infer.py", "--model", "resnet18", "--dataset", "imagenet", "--output-dir", tmp_path / "runs")
    assert proc.returncode == 2 and "--data-path" in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_help_teaches_the_options_and_exit_codes():
    for script in ("infer.py", "train.py"):
        proc = run(script, "--help")
        assert proc.returncode == 0
        for word in ("--backend", "--dataset", "--weights", "--seed", "Exit codes", "143", "--mlflow", "examples"):
            assert word in proc.stdout, (script, word)


# interruptions -----------------------------------------------------------------------------------
def wait_for(path_glob, root: Path, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        found = list(root.glob(path_glob))
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"{path_glob} did not appear in {root}")


@pytest.mark.slow
@pytest.mark.parametrize("sig,code,reason", [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")])
def test_an_interrupted_training_is_kept_and_merged_as_incomplete(tmp_path, sig, code, reason):
    out = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, str(REPO / "train.py"), "--model", "resnet18", "--epochs", "50",
                             "--output-dir", str(out), *FAST_MONITORING], cwd=REPO, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            # as from a terminal: under nohup the child would inherit an ignored SIGINT
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for("train_*/monitoring_psutil.json*", out)  # .jsonl while it runs
        time.sleep(2)
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, output[-3000:]
    folder = only_run_dir(out, "train")
    names = {p.name for p in folder.iterdir()}
    assert "results.json" not in names and {"config.json", "execution_platform.json"} <= names
    assert load(folder, "incomplete.json")["reason"] == reason
    assert load(folder, "monitoring_psutil.json")["_meta"]["complete"] is True
    merged = subprocess.run([sys.executable, str(REPO / "merge_results.py"), "--directory", str(out),
                             "--output-dir", str(tmp_path / "results")], capture_output=True, text=True, env=ENV)
    assert "incomplete" in merged.stdout + merged.stderr
    log = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert log.get("incomplete") is True
