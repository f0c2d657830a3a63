"""PyTorch backend on CPU with small models and inputs."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mlel.backends import BackendError, UnknownModel, get_backend  # noqa: E402
from mlel.backends.torch import MEAN, STD, pretrained_file  # noqa: E402


@pytest.fixture(scope="module")
def backend():
    b = get_backend("torch")(device="cpu")
    b.seed(0)
    b.build(b.resolve_model("resnet18"), num_classes=10, input_size=32)
    return b


def raw(n=4, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype(np.float32)


def test_device_auto_is_cpu_without_gpu_and_cuda_fails_clearly():
    assert get_backend("pytorch")(device="auto").device == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match="--device cpu"):
            get_backend("torch")(device="cuda")


def test_prepare_normalises_like_torchvision_and_goes_nchw(backend):
    x = raw()
    t = backend.prepare(x)
    assert t.shape == (4, 3, 32, 32) and t.dtype == torch.float32
    expected = (x[0, 5, 7, 1] / 255 - MEAN[1]) / STD[1]
    assert float(t[0, 1, 5, 7]) == pytest.approx(expected, rel=1e-5)


def test_evaluate_counts_samples_and_metrics(backend):
    x, y = raw(6), np.arange(6) % 10
    batches = [(backend.prepare(x[:4]), y[:4]), (backend.prepare(x[4:]), y[4:])]
    m = backend.evaluate(batches)
    assert m.n_samples == 6
    logits = np.concatenate([backend.predict(b) for b, _ in batches])
    from mlel.backends.base import MetricSums
    ref = MetricSums(False)
    ref.add(logits, y)
    assert m.loss == pytest.approx(ref.result().loss, rel=1e-5)
    assert m.accuracy == pytest.approx(ref.result().accuracy)
    unlabelled = backend.evaluate([(backend.prepare(x), None)])
    assert unlabelled.n_samples == 6 and unlabelled.accuracy is None


def test_training_steps_lower_the_loss_on_a_fixed_batch():
    b = get_backend("torch")(device="cpu")
    b.seed(1)
    b.build(b.resolve_model("resnet18"), num_classes=10, input_size=32)
    b.configure_training("adam", 1e-3, 0.9, 0.0)
    x, y = b.prepare(raw(16, seed=3)), np.arange(16) % 10
    first = b.train_epoch([(x, y)])
    for _ in range(10):
        last = b.train_epoch([(x, y)])
    assert last.loss < first.loss and last.n_samples == 16
    b.set_lr(0.5)
    assert b.optimizer.param_groups[0]["lr"] == 0.5


def test_stats_params_flops_and_file_size():
    b = get_backend("torch")(device="cpu")
    b.build(b.resolve_model("ResNet50"), num_classes=1000, input_size=224)
    stats = b.stats()
    assert stats.params == 25_557_032                  # torchvision's ResNet50
    assert stats.flops == pytest.approx(4.09e9, rel=0.01)  # multiply-accumulates, as in 2022
    assert stats.fsize == pytest.approx(stats.params * 4, rel=0.01)


def test_save_and_load_reproduce_outputs(backend, tmp_path):
    path = backend.save(tmp_path)
    other = get_backend("torch")(device="cpu")
    other.load(path, backend.spec, 10, 32)
    x = backend.prepare(raw())
    np.testing.assert_allclose(other.predict(x), backend.predict(x), rtol=1e-5, atol=1e-5)
    assert other.stats().fsize == path.stat().st_size


def test_weights_file_with_wrong_shape_is_a_clear_error(backend, tmp_path):
    path = backend.save(tmp_path)
    b = get_backend("torch")(device="cpu")
    with pytest.raises(BackendError, match="do not fit"):
        b.build(b.resolve_model("resnet18"), num_classes=1000, input_size=32, weights=str(path))
    with pytest.raises(BackendError, match="no such file"):
        b.build(b.resolve_model("resnet18"), num_classes=10, input_size=32, weights=str(tmp_path / "x.pth"))


def test_pretrained_never_downloads(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # an empty cache
    b = get_backend("torch")(device="cpu")
    spec = b.resolve_model("mobilenet_v3_small")
    with pytest.raises(BackendError) as err:
        b.build(spec, 1000, 224, weights="pretrained")
    assert str(tmp_path) in str(err.value) and "--weights FILE" in str(err.value)
    # a file in the cache is used
    path, _ = pretrained_file("mobilenet_v3_small")
    path.parent.mkdir(parents=True)
    ref = get_backend("torch")(device="cpu")
    ref.build(spec, 1000, 224)
    torch.save(ref.model.state_dict(), path)
    assert b.build(spec, 1000, 224, weights="pretrained") == str(path)


def test_unknown_and_unavailable_models_list_choices():
    b = get_backend("torch")(device="cpu")
    with pytest.raises(UnknownModel) as err:
        b.resolve_model("NoSuchNet")
    assert "ResNet50" in str(err.value) and "mobilenet_v3_small" not in str(err.value).split("MobileNetV3Small")[0]
    assert "convnext_tiny" in str(err.value)               # torchvision's own names too
    with pytest.raises(UnknownModel, match="--backend tensorflow"):
        b.resolve_model("Xception")
    assert b.resolve_model("convnext_tiny").torch == "convnext_tiny"


def test_input_size_below_the_model_minimum_is_refused():
    b = get_backend("torch")(device="cpu")
    with pytest.raises(BackendError, match="--input-size"):
        b.build(b.resolve_model("InceptionV3"), 10, 32)


def test_bn_momentum_is_set_on_every_batchnorm_and_none_keeps_the_models_own():
    b = get_backend("torch")(device="cpu")
    b.build(b.resolve_model("mobilenet_v3_small"), num_classes=10, input_size=32)
    norms = [m for m in b.model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and {m.momentum for m in norms} == {0.01}  # torchvision's MobileNetV3 recipe
    b.configure_training("sgd", 0.01, 0.9, 0.0, bn_momentum=None)
    assert {m.momentum for m in norms} == {0.01}
    b.configure_training("sgd", 0.01, 0.9, 0.0, bn_momentum=0.1)
    assert {m.momentum for m in norms} == {0.1}
    # one training step moves the running mean (from 0) by 10% of the batch's mean
    norm, seen = norms[0], []
    norm.reset_running_stats()
    norm.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach().mean((0, 2, 3))))
    b.train_epoch([(b.prepare(raw(8, seed=5)), np.arange(8) % 10)])
    torch.testing.assert_close(norm.running_mean, 0.1 * seen[0], rtol=1e-4, atol=1e-6)
