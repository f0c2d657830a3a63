"""Shared fixtures: the 2022 reference logs (read from ../shared, never copied), one trained model
per framework for the whole run, and browser options."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE_RESULTS = SHARED / "reference" / "mlee-2022" / "results"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The 232 merged logs of the 2022 study."""
    if not REFERENCE_RESULTS.is_dir():
        pytest.fail(f"the 2022 reference logs are missing: expected {REFERENCE_RESULTS} "
                    "(the shared folder lies beside the repository)")
    return REFERENCE_RESULTS


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


# one trained model per framework, trained once per test run -----------------------------------------
# Real train.py runs in a subprocess (as a user runs it) on digits at 32 px; the folders are shared by
# every test that needs a trained run, which must treat them as read-only (tests/test_infer_train_cli.py
# checks that inference leaves a training run folder as it was).
TRAIN_ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
FAST_MONITORING = ("--gpu-monitor-interval", "0.1", "--cpu-monitor-interval", "0.1")

# train.py's own recipe (SGD, lr 0.01, 3 epochs, batches of 32, digits at 32 px) on the first 20 of
# the 45 batches of each epoch: well above chance (~0.8 validation accuracy; 0.1 is chance)
TORCH_TRAINING = ("--model", "resnet18", "--backend", "torch", "--seed", "1", "--n-batches", "20")
# Adam, 2 full epochs: Keras BatchNorm statistics need the full epochs (~0.88 validation accuracy)
TF_TRAINING = ("--model", "MobileNetV3Small", "--backend", "tensorflow", "--epochs", "2", "--opt", "adam",
               "--lr", "0.001", "--seed", "1")


def _train_once(tmp_path_factory, name: str, args: tuple[str, ...]) -> Path:
    out = tmp_path_factory.mktemp(name)
    proc = subprocess.run([sys.executable, str(REPO / "train.py"), *args, "--output-dir", str(out),
                           *FAST_MONITORING], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env=TRAIN_ENV)
    if proc.returncode != 0:
        pytest.fail(f"train.py {' '.join(args)} exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    (run,) = out.glob("train_*")
    return run


@pytest.fixture(scope="session")
def torch_trained_run(tmp_path_factory) -> Path:
    """A finished PyTorch training run folder (ResNet18 on digits; see TORCH_TRAINING)."""
    return _train_once(tmp_path_factory, "torch_train", TORCH_TRAINING)


@pytest.fixture(scope="session")
def tf_trained_run(tmp_path_factory) -> Path:
    """A finished TensorFlow training run folder (MobileNetV3Small on digits; see TF_TRAINING)."""
    return _train_once(tmp_path_factory, "tf_train", TF_TRAINING)


def pytest_setup_options():
    """dash_duo: Debian's headless Chromium, never a downloaded browser."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = os.environ.get("MLEL_CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--window-size=1400,1000"):
        options.add_argument(flag)
    return options
