"""TensorFlow backend (Keras 3 applications) on CPU with small models and inputs."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras internals on numpy 2

from mlel.backends import BackendError, UnknownModel, get_backend  # noqa: E402
from mlel.backends.base import MetricSums  # noqa: E402


def raw(n=4, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def backend():
    b = get_backend("tensorflow")(device="cpu")
    b.seed(0)
    b.build(b.resolve_model("MobileNetV3Small"), num_classes=10, input_size=32)  # small: quick to trace
    return b


def test_cuda_without_gpu_fails_clearly():
    if not tf.config.list_physical_devices("GPU"):
        with pytest.raises(BackendError, match="--device cpu"):
            get_backend("tf")(device="cuda")


def test_model_names_and_keras_own_models():
    b = get_backend("tensorflow")(device="cpu")
    assert b.resolve_model("xception").keras == "Xception"
    assert b.resolve_model("ConvNeXtTiny").keras == "ConvNeXtTiny"
    with pytest.raises(UnknownModel, match="--backend torch"):
        b.resolve_model("ResNext50")            # keras.applications has no ResNeXt
    with pytest.raises(UnknownModel, match="EfficientNetB0"):
        b.resolve_model("nope")


def test_preprocessing_follows_the_model_family():
    b = get_backend("tensorflow")(device="cpu")
    b.build(b.resolve_model("ResNet50"), 10, 32)
    x = raw(1)
    caffe = b.prepare(x).numpy()                # BGR, ImageNet mean subtracted
    assert caffe[0, 0, 0, 0] == pytest.approx(x[0, 0, 0, 2] - 103.939, abs=1e-3)
    b2 = get_backend("tensorflow")(device="cpu")
    b2.build(b2.resolve_model("MobileNetV2"), 10, 32)
    assert b2.prepare(x).numpy()[0, 0, 0, 0] == pytest.approx(x[0, 0, 0, 0] / 127.5 - 1, abs=1e-5)
    assert x[0, 0, 0, 0] == raw(1)[0, 0, 0, 0]  # the caller's batch is not modified


def test_evaluate_matches_numpy_metrics(backend):
    x, y = raw(6), np.arange(6) % 10
    batches = [(backend.prepare(x[:4]), y[:4]), (backend.prepare(x[4:]), y[4:])]
    m = backend.evaluate(batches)
    ref = MetricSums(True)
    for b, yy in batches:
        ref.add(backend.predict(b), yy)
    assert m.n_samples == 6
    assert m.accuracy == pytest.approx(ref.result().accuracy)
    assert m.top_5_accuracy == pytest.approx(ref.result().top_5_accuracy)
    assert backend.evaluate([(batches[0][0], None)]).accuracy is None


def test_training_lowers_the_loss_and_round_trips(tmp_path):
    b = get_backend("tensorflow")(device="cpu")
    b.seed(1)
    b.build(b.resolve_model("MobileNetV3Small"), 10, 32)  # its train step traces in a third of EfficientNet's time
    b.configure_training("adam", 1e-3, 0.9, 0.0)
    x, y = b.prepare(raw(16, seed=2)), np.arange(16) % 10
    first = b.train_epoch([(x, y)])
    for _ in range(8):
        last = b.train_epoch([(x, y)])
    assert last.loss < first.loss
    b.set_lr(0.25)
    assert float(b.optimizer.learning_rate) == pytest.approx(0.25)
    path = b.save(tmp_path)
    other = get_backend("tensorflow")(device="cpu")
    other.load(path, b.spec, 10, 32)
    np.testing.assert_allclose(other.predict(x), b.predict(x), atol=1e-5)


def test_stats_like_the_2022_tensorflow_logs():
    b = get_backend("tensorflow")(device="cpu")
    b.build(b.resolve_model("MobileNetV3Small"), 1000, 224)
    stats = b.stats()
    assert stats.params == 2_554_968                  # keras.applications.MobileNetV3Small
    assert stats.flops == pytest.approx(0.06e9, rel=0.15)  # profiler / 2, as the 2022 logs
    assert stats.fsize > stats.params * 4 * 0.9


def test_pretrained_never_downloads(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    import keras
    monkeypatch.setattr(keras.config, "keras_home", lambda: str(tmp_path), raising=False)
    from keras.src.utils import file_utils
    monkeypatch.setattr(file_utils.config, "keras_home", lambda: str(tmp_path))
    b = get_backend("tensorflow")(device="cpu")
    with pytest.raises(BackendError) as err:
        b.build(b.resolve_model("MobileNetV3Small"), 1000, 224, weights="pretrained")
    assert "never downloads" in str(err.value) and str(tmp_path) in str(err.value)


def test_bn_momentum_uses_the_keras_convention_in_every_layer():
    b = get_backend("tensorflow")(device="cpu")
    b.build(b.resolve_model("MobileNetV3Small"), 10, 32)
    norms = [layer for layer in b.model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    own = {layer.momentum for layer in norms}
    b.configure_training("sgd", 0.01, 0.9, 0.0, bn_momentum=None)
    assert norms and {layer.momentum for layer in norms} == own
    b.configure_training("sgd", 0.0, 0.9, 0.0, bn_momentum=0.1)  # lr 0: the weights stay
    assert all(layer.momentum == pytest.approx(0.9) for layer in norms)
    # one training step moves the moving mean by 10% of the batch mean (from 0)
    norm = norms[0]
    norm.moving_mean.assign(np.zeros(norm.moving_mean.shape, np.float32))
    x = b.prepare(raw(8, seed=4))
    b.train_epoch([(x, np.arange(8) % 10)])
    batch_mean = keras.Model(b.model.inputs, norm.input)(x, training=False).numpy().mean(axis=(0, 1, 2))
    np.testing.assert_allclose(norm.moving_mean.numpy(), 0.1 * batch_mean, rtol=1e-3, atol=1e-5)
