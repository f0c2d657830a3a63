"""TensorFlow backend: keras.applications models (Keras 3 on TensorFlow), compiled tf.functions."""
from __future__ import annotations

import contextlib
import importlib
import logging
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: no C++ info chatter

# Loading triton (PyTorch's compiler, which torchvision pulls in) after TensorFlow segfaults the
# process (TF 2.21, triton 3.8); loaded first, both work: PyTorch backends stay usable after this one
with contextlib.suppress(ImportError):
    import triton  # noqa: F401

import numpy as np
import tensorflow as tf
import keras

from mlel.base.names import normalise_model_name

from .base import (PRETRAINED, RANDOM, Backend, BackendError, EvalMetrics, ModelSpec,
                   check_weights_file, metrics_from_sums)

log = logging.getLogger(__name__)


@contextlib.contextmanager
def no_downloads(model_name: str):
    """Keras fetches missing weights from the internet; fail at once instead, naming the cache."""
    from keras.src.utils import file_utils

    def refuse(origin, target, *args, **kwargs):
        raise BackendError(
            f"pretrained weights of {model_name} are not in the local Keras cache ({target}). "
            f"MLEE never downloads: copy the file there (from {origin}) or pass --weights FILE")

    original = file_utils.urlretrieve
    file_utils.urlretrieve = refuse
    try:
        yield
    finally:
        file_utils.urlretrieve = original


def preprocess_function(keras_name: str):
    """The ``preprocess_input`` of the keras.applications module that defines the model (a
    pass-through for models that preprocess inside, e.g. EfficientNet and MobileNetV3)."""
    module_name = getattr(keras.applications, keras_name).__module__.rsplit(".", 1)[-1]
    try:
        module = importlib.import_module(f"keras.applications.{module_name}")
    except ImportError:
        module = importlib.import_module(getattr(keras.applications, keras_name).__module__)
    return module.preprocess_input


def _all_layers(model):
    """Every layer, nested models' included."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


class TensorFlowBackend(Backend):
    name = "tensorflow"
    framework = "tensorflow"
    model_suffix = "model.weights.h5"
    outputs_probabilities = True  # keras.applications end in a softmax

    def __init__(self, device: str = "auto"):
        super().__init__(device)
        self.model: keras.Model | None = None
        self.optimizer = None
        self._preprocess = None
        self._steps = {}

    def resolve_device(self, device: str) -> str:
        gpus = tf.config.list_physical_devices("GPU")
        if device == "auto":
            device = "cuda" if gpus else "cpu"
        if device.startswith("cuda") and not gpus:
            raise BackendError("--device cuda: TensorFlow sees no GPU here; use --device cpu")
        if device == "cpu" and gpus:
            try:  # keep TensorFlow off the GPUs entirely
                tf.config.set_visible_devices([], "GPU")
            except RuntimeError:
                pass
        return device

    def seed(self, seed: int) -> None:
        keras.utils.set_random_seed(seed)  # python, numpy and TensorFlow

    # data parallel (MirroredStrategy: one process, the batch split over N devices) -----------------
    strategy = None

    def mirror(self, n: int) -> list[str]:
        """Replicate the model over n devices (GPUs 0..n-1, or n logical CPU devices); call before
        build. Returns each replica's device, as config.json records it."""
        if self.device.startswith("cuda"):
            gpus = tf.config.list_logical_devices("GPU")
            if len(gpus) < n:
                raise BackendError(f"--data-parallel {n}: TensorFlow sees {len(gpus)} GPU(s)")
            names, devices = [g.name for g in gpus[:n]], [f"cuda:{i}" for i in range(n)]
        else:
            try:
                cpu = tf.config.list_physical_devices("CPU")[0]
                tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
            except RuntimeError as exc:  # TensorFlow already started in this process
                raise BackendError(f"--data-parallel {n}: cannot split the CPU now ({exc}); "
                                   "start a fresh process") from None
            names, devices = [d.name for d in tf.config.list_logical_devices("CPU")][:n], [self.device] * n
        self.strategy = tf.distribute.MirroredStrategy(names)
        return devices

    def _scope(self):
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def _split(self, x, y):
        """(x, y) as per-replica parts of the batch."""
        n = self.strategy.num_replicas_in_sync
        size = int(x.shape[0])
        bounds = [size * i // n for i in range(n + 1)]

        def part(value):
            return self.strategy.experimental_distribute_values_from_function(
                lambda ctx: value[bounds[ctx.replica_id_in_sync_group]:bounds[ctx.replica_id_in_sync_group + 1]])
        return part(x), part(y)

    @classmethod
    def framework_models(cls) -> dict[str, str]:
        return {normalise_model_name(n): n for n in dir(keras.applications)
                if n[:1].isupper() and callable(getattr(keras.applications, n))}

    # models ---------------------------------------------------------------------------------------
    def _create(self, spec: ModelSpec, num_classes: int, input_size: int, weights=None):
        builder = getattr(keras.applications, spec.keras)
        return builder(weights=weights, classes=num_classes,
                       input_shape=(input_size, input_size, 3))

    def build(self, spec, num_classes, input_size, weights=RANDOM):
        with self._scope():  # the model's variables mirrored on every replica
            return self._build(spec, num_classes, input_size, weights)

    def _build(self, spec, num_classes, input_size, weights=RANDOM):
        self._set_model(spec, num_classes, input_size)
        loaded = RANDOM
        if weights == PRETRAINED:
            with no_downloads(spec.name):
                try:
                    self.model = self._create(spec, num_classes, input_size, "imagenet")
                except ValueError as exc:  # e.g. 10 classes or a non-native input size
                    raise BackendError(f"pretrained {spec.name}: {exc}") from None
            loaded = f"{PRETRAINED} (Keras cache, {keras.config.keras_home()}/models)"
        else:
            self.model = self._create(spec, num_classes, input_size)
            if weights != RANDOM:
                loaded = str(check_weights_file(weights))
                try:
                    self.model.load_weights(loaded)
                except Exception as exc:  # h5py / Keras raise many kinds for a file that is not one
                    raise BackendError(f"weights {loaded} do not fit {spec.name} with {num_classes} "
                                       f"classes at {input_size}px: {exc}") from None
        self._compile_steps()
        return loaded

    def save(self, folder: Path) -> Path:
        path = Path(folder) / self.model_suffix
        self.model.save_weights(path)
        return path

    def _compile_steps(self) -> None:
        """tf.functions with a free batch dimension: traced once, the last smaller batch included."""
        model, size = self.model, self.input_size
        x_spec = tf.TensorSpec([None, size, size, 3], tf.float32)
        y_spec = tf.TensorSpec([None], tf.int64)
        k = min(5, self.num_classes)

        def sums(y, probs):
            loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, probs))
            top1 = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(probs, axis=1), y), tf.float64))
            # top_k breaks ties by index, like torch and numpy (in_top_k counts all ties as hits)
            best = tf.math.top_k(probs, k).indices
            top5 = tf.reduce_sum(tf.cast(tf.reduce_any(tf.equal(tf.cast(best, tf.int64), y[:, None]), axis=1),
                                         tf.float64))
            return tf.stack([tf.cast(loss, tf.float64), top1, top5])

        @tf.function(input_signature=[x_spec])
        def forward(x):
            return model(x, training=False)

        @tf.function(input_signature=[x_spec, y_spec])
        def eval_step(x, y):
            return sums(y, model(x, training=False))

        self._steps = {"forward": forward, "eval": eval_step, "sums": sums}
        if self.strategy is not None:
            strategy = self.strategy

            @tf.function
            def mirrored_eval(x, y):
                per_replica = strategy.run(lambda a, b: sums(b, model(a, training=False)), args=(x, y))
                return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
            self._steps["eval"] = lambda x, y: mirrored_eval(*self._split(x, y))

            @tf.function
            def mirrored_forward(x):  # unlabelled data: the work, reduced to one number to wait on
                per_replica = strategy.run(lambda a: tf.reduce_sum(model(a, training=False)), args=(x,))
                return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
            self._steps["forward"] = lambda x: mirrored_forward(self._split(x, x[:, 0, 0, 0])[0])

    # data and work --------------------------------------------------------------------------------
    def preprocess_numpy(self, x: np.ndarray) -> np.ndarray:
        if self._preprocess is None:
            self._preprocess = preprocess_function(self.preprocess_spec.keras or self.spec.keras)
        return np.asarray(self._preprocess(np.array(x, dtype=np.float32)), dtype=np.float32)

    def prepare(self, x: np.ndarray) -> tf.Tensor:
        return tf.constant(self.preprocess_numpy(x))

    def predict(self, x) -> np.ndarray:
        return self._steps["forward"](x).numpy()

    def evaluate(self, batches, progress=None) -> EvalMetrics:
        forward, step = self._steps["forward"], self._steps["eval"]
        total = tf.zeros(3, tf.float64)
        n = labelled = 0
        last = None
        for x, y in batches:
            n += int(x.shape[0])
            if y is None:
                last = forward(x)
            else:
                total += step(x, tf.constant(np.asarray(y, dtype=np.int64)))
                labelled += len(y)
            if progress is not None:
                progress(1)
        if last is not None:
            last.numpy()  # waits for the device
        loss, top1, top5 = total.numpy().tolist()
        return metrics_from_sums(n, labelled, loss, top1, top5)

    # training -------------------------------------------------------------------------------------
    def configure_training(self, opt, lr, momentum, weight_decay, bn_momentum=None):
        with self._scope():  # Keras binds an optimizer to the strategy it is created in
            self._configure_training(opt, lr, momentum, weight_decay, bn_momentum)

    def _configure_training(self, opt, lr, momentum, weight_decay, bn_momentum=None):
        if bn_momentum is not None:  # before the train step is traced: it reads the value then
            for layer in _all_layers(self.model):
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.momentum = 1.0 - bn_momentum
        # Keras applies weight decay decoupled from the gradient (PyTorch: L2 in the gradient)
        wd = weight_decay or None
        if opt == "sgd":
            self.optimizer = keras.optimizers.SGD(lr, momentum=momentum, weight_decay=wd)
        elif opt == "adam":
            self.optimizer = keras.optimizers.Adam(lr, weight_decay=wd)
        elif opt == "rmsprop":
            self.optimizer = keras.optimizers.RMSprop(lr, momentum=momentum, weight_decay=wd,
                                                      rho=0.9, epsilon=0.0316)
        else:
            raise BackendError(f"unknown optimizer {opt!r}; valid: sgd, adam, rmsprop")
        model, optimizer, sums = self.model, self.optimizer, self._steps["sums"]
        optimizer.build(model.trainable_variables)
        size = self.input_size
        if self.strategy is not None:
            self._steps["train"] = self._mirrored_train_step()
            return

        @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32),
                                      tf.TensorSpec([None], tf.int64)])
        def train_step(x, y):
            with tf.GradientTape() as tape:
                probs = model(x, training=True)
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, probs))
                if model.losses:
                    loss += tf.add_n(model.losses)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return sums(y, probs)

        self._steps["train"] = train_step

    def _mirrored_train_step(self):
        """One step over the replicas: each its part of the batch; the optimizer sums their
        gradients, so each replica's loss is its share of the whole batch's mean."""
        model, optimizer, sums, strategy = self.model, self.optimizer, self._steps["sums"], self.strategy
        n = strategy.num_replicas_in_sync

        def replica_step(x, y, batch):
            with tf.GradientTape() as tape:
                probs = model(x, training=True)
                loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, probs)) / batch
                if model.losses:
                    loss += tf.add_n(model.losses) / n
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return sums(y, probs)

        @tf.function
        def step(x, y, batch):
            per_replica = strategy.run(replica_step, args=(x, y, batch))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
        return lambda x, y: step(*self._split(x, y), tf.cast(tf.shape(x)[0], tf.float32))

    def set_lr(self, lr):
        self.optimizer.learning_rate = lr

    def train_epoch(self, batches, progress=None) -> EvalMetrics:
        step = self._steps["train"]
        total = tf.zeros(3, tf.float64)
        n = 0
        for x, y in batches:
            total += step(x, tf.constant(np.asarray(y, dtype=np.int64)))
            n += len(y)
            if progress is not None:
                progress(1)
        loss, top1, top5 = total.numpy().tolist()
        return metrics_from_sums(n, n, loss, top1, top5)

    # statistics -----------------------------------------------------------------------------------
    def count_params(self) -> int:
        return int(self.model.count_params())

    def count_flops(self) -> float | None:
        """TensorFlow's profiler over the frozen graph of one sample (as in the 2022 study)."""
        from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
        model, size = self.model, self.input_size
        try:
            fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(
                tf.TensorSpec([1, size, size, 3], tf.float32))
            graph = convert_variables_to_constants_v2(fn).graph
            options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
            options["output"] = "none"
            with _quiet_tf_logging():
                profile = tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(),
                                                        cmd="op", options=options)
            return profile.total_float_ops / 2  # multiply-accumulates (see ModelStats)
        except Exception as exc:  # the profiler is a v1 API: a missing count beats a failed run
            log.info("TensorFlow profiler failed, FLOPs not counted: %s", exc)
            return None


@contextlib.contextmanager
def _quiet_tf_logging():
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)
