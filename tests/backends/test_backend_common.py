"""The backend interface without a framework: names, registry, metric sums, FLOP conventions."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mlel.backends import BACKENDS, CHOICES, MODELS, BackendError, UnknownBackend, lookup, runnable_backend
from mlel.backends.base import EvalMetrics, MetricSums, metrics_from_sums
from mlel.base.errors import UsageError
from mlel.base.names import normalise_model_name as normalize


@pytest.mark.parametrize("alias,canonical", [
    ("torch", "pytorch"), ("PyTorch", "pytorch"), ("tf", "tensorflow"), ("onnx_torch", "onnx_pytorch"),
    ("onnx-pytorch", "onnx_pytorch"), ("onnx_tensorflow", "onnx_tensorflow"), ("ONNX_TF", "onnx_tensorflow"),
])
def test_backend_aliases_map_to_the_2022_config_names(alias, canonical):
    assert runnable_backend(alias) == canonical
    assert canonical in BACKENDS


def test_unknown_backend_lists_the_choices():
    with pytest.raises(UnknownBackend) as err:
        runnable_backend("mxnet")
    assert isinstance(err.value, UsageError)  # the CLIs exit 2
    for name in CHOICES:
        assert name in str(err.value)


@pytest.mark.parametrize("name,canonical", [
    ("ResNet50", "ResNet50"), ("resnet50", "ResNet50"), ("RESNET101", "ResNet101"),
    ("mobilenet_v3_small", "MobileNetV3Small"), ("MobileNetV3Large", "MobileNetV3Large"),
    ("efficientnet_b0", "EfficientNetB0"), ("regnet_x_400mf", "RegNetX400MF"), ("RegNetX004", "RegNetX400MF"),
    ("resnext50_32x4d", "ResNext50"), ("inception_v3", "InceptionV3"), ("densenet121", "DenseNet121"),
])
def test_model_names_are_case_insensitive_and_accept_framework_spellings(name, canonical):
    assert lookup(name).name == canonical


def test_every_2022_model_with_a_framework_builder_is_in_the_table():
    names_2022 = ["DenseNet121", "DenseNet169", "DenseNet201", "InceptionResNetV2", "InceptionV3",
                  "MobileNetV2", "MobileNetV3Large", "MobileNetV3Small", "NASNetMobile", "RegNetX32GF",
                  "RegNetX400MF", "RegNetX8GF", "ResNet101", "ResNet152", "ResNet50", "ResNext101",
                  "ResNext50", "VGG16", "VGG19", "Xception"] + [f"EfficientNetB{i}" for i in range(8)]
    for name in names_2022:
        spec = MODELS[name]
        assert spec.torch or spec.keras
    assert MODELS["InceptionV3"].input_size == 299 and MODELS["EfficientNetB7"].input_size == 600


def test_normalize_ignores_case_and_separators():
    assert normalize("MobileNet-V3 Small") == normalize("mobilenet_v3_small") == "mobilenetv3small"


def test_metric_sums_from_logits_match_hand_computation():
    logits = np.array([[2.0, 1.0, 0.0, -1.0, -2.0, -3.0],
                       [0.0, 0.0, 5.0, 0.0, 0.0, 0.0]])
    y = np.array([1, 2])
    sums = MetricSums(probabilities=False)
    sums.add(logits, y)
    m = sums.result()
    lse0 = np.log(np.exp(logits[0]).sum())
    lse1 = np.log(np.exp(logits[1]).sum())
    assert m.loss == pytest.approx(((lse0 - 1.0) + (lse1 - 5.0)) / 2)
    assert m.accuracy == 0.5          # sample 0 predicts class 0
    assert m.top_5_accuracy == 1.0
    assert m.n_samples == 2


def test_metric_sums_from_probabilities_clip_like_keras():
    probs = np.array([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]])
    sums = MetricSums(probabilities=True)
    sums.add(probs, np.array([0, 0]))
    m = sums.result()
    assert m.loss == pytest.approx((-np.log(0.7) - np.log(1e-7)) / 2)
    assert m.accuracy == 0.5
    assert m.top_5_accuracy == 1.0     # 3 classes: top-5 covers all


def test_top5_breaks_ties_by_index_like_torch():
    uniform = np.full((10, 1000), 1e-3)
    sums = MetricSums(probabilities=True)
    sums.add(uniform, np.arange(10))
    m = sums.result()
    assert m.accuracy == pytest.approx(0.1) and m.top_5_accuracy == pytest.approx(0.5)


def test_unlabelled_batches_count_samples_but_leave_metrics_null():
    sums = MetricSums(probabilities=False)
    sums.add(np.zeros((4, 10)), None)
    assert sums.result() == EvalMetrics(n_samples=4)
    assert sums.result().as_dict() == {"accuracy": None, "top_5_accuracy": None, "loss": None, "n_samples": 4}
    assert metrics_from_sums(3, 0, 0, 0, 0).accuracy is None


def test_tensorflow_then_pytorch_in_one_process_does_not_crash():
    """TensorFlow, then triton (pulled in by torchvision) segfaulted; the TF backend loads triton first."""
    import subprocess
    import sys
    code = "import mlel.backends.tensorflow, mlel.backends.torch, torchvision; print('ok')"
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=repo)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


@pytest.mark.parametrize("name, extra", [("torch", "torch"), ("onnx_tf", "tensorflow,onnx")])
def test_a_missing_framework_names_the_extra_that_installs_it(name, extra):
    # the framework is blocked in a fresh interpreter (None in sys.modules makes its import fail)
    code = ("import sys; sys.modules['torch'] = sys.modules['onnxruntime'] = sys.modules['onnx'] = None\n"
            "from mlel.backends import BackendError, EXTRAS, get_backend\n"
            f"try: get_backend({name!r})\n"
            "except BackendError as e: print(e)\n")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "needs a package that is not installed" in shown and f"pip install 'mlee[{extra}]'" in shown
