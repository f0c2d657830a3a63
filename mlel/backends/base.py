"""The small interface every backend implements, and the plain records it returns.

A backend owns one model in one framework (or runtime) on one device::

    backend = get_backend("torch")(device="cpu")
    spec = backend.resolve_model("ResNet50")
    backend.build(spec, num_classes=1000, input_size=224, weights="random")
    x = backend.prepare(raw_nhwc_batch)          # preprocessing, layout, device
    metrics = backend.evaluate([(x, labels)])    # EvalMetrics
    backend.stats()                              # ModelStats(params, flops, fsize)

Images reach ``prepare`` as float32 arrays ``(n, height, width, 3)`` with RGB values in [0, 255]
(mlel.experiment.data yields them so); each backend applies its model's standard preprocessing from there.
Training: ``configure_training`` once, then ``set_lr`` and ``train_epoch`` per epoch.
"""
from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable

import numpy as np

from mlel.base.errors import UsageError
from mlel.base.names import normalise_model_name

from .models import NOT_OFFERED, ModelSpec, lookup

# Weights choices besides a file path.
RANDOM, PRETRAINED = "random", "pretrained"


class BackendError(UsageError):
    """A problem with what the user asked for (exit code 2 in the CLIs), not a crash."""


class UnknownModel(BackendError):
    pass


@dataclass
class ModelStats:
    """``flops`` are per sample with one multiply-accumulate counted once: the convention of the
    2022 logs and of the torchvision / Keras model tables (ResNet50: about 4.1e9)."""
    params: int
    flops: float | None
    fsize: int | None


@dataclass
class EvalMetrics:
    """Metrics over the batches seen; loss and accuracies are None without labels."""
    n_samples: int
    loss: float | None = None
    accuracy: float | None = None
    top_5_accuracy: float | None = None

    def as_dict(self) -> dict:
        return {"accuracy": self.accuracy, "top_5_accuracy": self.top_5_accuracy,
                "loss": self.loss, "n_samples": self.n_samples}


class MetricSums:
    """Running sums of loss, top-1 and top-5 hits over numpy batches (logits or probabilities)."""

    def __init__(self, probabilities: bool):
        self.probabilities = probabilities
        self.n = self.labelled = 0
        self.loss = self.top1 = self.top5 = 0.0

    def add(self, out: np.ndarray, y: np.ndarray | None) -> None:
        self.n += len(out)
        if y is None:
            return
        out = np.asarray(out, dtype=np.float64)
        rows = np.arange(len(y))
        if self.probabilities:  # clipped like Keras's crossentropy
            self.loss += float(-np.log(np.clip(out[rows, y], 1e-7, 1.0)).sum())
        else:
            top = out.max(axis=1, keepdims=True)
            lse = top[:, 0] + np.log(np.exp(out - top).sum(axis=1))
            self.loss += float((lse - out[rows, y]).sum())
        k = min(5, out.shape[1])
        best = np.argsort(-out, axis=1, kind="stable")[:, :k]  # ties: lower index first, as torch
        self.top1 += float((best[:, 0] == y).sum())
        self.top5 += float((best == y[:, None]).any(axis=1).sum())
        self.labelled += len(y)

    def result(self) -> EvalMetrics:
        return metrics_from_sums(self.n, self.labelled, self.loss, self.top1, self.top5)


def metrics_from_sums(n, labelled, loss, top1, top5) -> EvalMetrics:
    if not labelled:
        return EvalMetrics(n_samples=int(n))
    return EvalMetrics(int(n), float(loss) / labelled, float(top1) / labelled, float(top5) / labelled)


def combined(evaluations: list[EvalMetrics]) -> EvalMetrics:
    """One EvalMetrics over several evaluations (passes), each weighted by its samples."""
    n = sum(m.n_samples for m in evaluations)
    labelled = [m for m in evaluations if m.accuracy is not None]
    weight = sum(m.n_samples for m in labelled)
    if not weight:
        return EvalMetrics(n_samples=n)

    def mean(name: str) -> float | None:
        values = [(getattr(m, name), m.n_samples) for m in labelled]
        return None if any(v is None for v, _ in values) else sum(v * k for v, k in values) / weight
    return EvalMetrics(n, mean("loss"), mean("accuracy"), mean("top_5_accuracy"))


def file_size(path) -> int:
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


class Backend(ABC):
    """One model in one framework on one device. Subclasses set the class attributes."""

    name: ClassVar[str]               # the config.json value (2022 names: pytorch, tensorflow, ...)
    framework: ClassVar[str]          # the framework that builds the models ("torch" / "tensorflow")
    can_train: ClassVar[bool] = True
    model_suffix: ClassVar[str]       # file the trained model is saved to, in the run folder

    def __init__(self, device: str = "auto"):
        self.device = self.resolve_device(device)
        self.shard: tuple[int, int] = (0, 1)           # (rank, world size) in data-parallel runs
        self.spec: ModelSpec | None = None
        self.num_classes: int | None = None
        self.input_size: int | None = None
        self.preprocess_spec: ModelSpec | None = None  # whose preprocessing prepare() applies
        self.model_file: Path | None = None            # the file stats() reports the size of

    # device and seeds -----------------------------------------------------------------------------
    @abstractmethod
    def resolve_device(self, device: str) -> str:
        """'auto' -> 'cuda' where the framework sees a GPU, else 'cpu'; 'cuda' without one fails."""

    @abstractmethod
    def seed(self, seed: int) -> None: ...

    # models ---------------------------------------------------------------------------------------
    @classmethod
    def framework_models(cls) -> dict[str, str]:
        """{normalized name: framework's own name} of the framework's classification models."""
        return {}

    def builder_name(self, spec: ModelSpec) -> str | None:
        """The framework builder of a table model, None where the framework has none."""
        return getattr(spec, self.framework if self.framework != "tensorflow" else "keras")

    def resolve_model(self, name: str) -> ModelSpec:
        """The ModelSpec of a model name, or UnknownModel listing the valid choices."""
        spec = lookup(name)
        if spec is not None:
            if self.builder_name(spec) is None:
                other = "tensorflow" if spec.keras else "torch"
                raise UnknownModel(f"model {spec.name} is not available for backend {self.name} "
                                   f"(no {self.framework} builder; try --backend {other}). Models for "
                                   f"this backend: "
                                   f"{', '.join(self.model_choices())}")
            return spec
        own = self.framework_models().get(normalise_model_name(name))
        if own is not None:
            return self.own_spec(own)
        hint = ""
        if normalise_model_name(name) in NOT_OFFERED:
            hint = f" ({NOT_OFFERED[normalise_model_name(name)]} is a larq model of the 2022 study, not offered here)"
        raise UnknownModel(f"unknown model {name!r} for backend {self.name}{hint}. Valid choices "
                           f"(case-insensitive): {', '.join(self.model_choices())}")

    def own_spec(self, own_name: str) -> ModelSpec:
        """A ModelSpec for a framework model outside the table."""
        key = "keras" if self.framework == "tensorflow" else self.framework
        return ModelSpec(name=own_name, **{key: own_name})

    def model_choices(self) -> list[str]:
        from .models import MODELS
        table = [s.name for s in MODELS.values() if self.builder_name(s) is not None]
        covered = {normalise_model_name(n) for n in table}
        for spec in MODELS.values():
            if self.builder_name(spec):
                covered.add(normalise_model_name(self.builder_name(spec)))
        own = sorted(v for k, v in self.framework_models().items() if k not in covered)
        return table + own

    def native_sizes(self, spec: ModelSpec) -> tuple[int, int]:
        """(crop, resize): the model's input side, and the shorter side images are resized to
        before the centre crop, in this framework's standard evaluation."""
        return spec.input_size, spec.resize_size

    def default_input_size(self, spec: ModelSpec) -> int:
        return self.native_sizes(spec)[0]

    def resize_size(self, spec: ModelSpec, input_size: int) -> int:
        """The resize side for an input side, in the model's standard proportion."""
        crop, resize = self.native_sizes(spec)
        return round(input_size * resize / crop)

    @abstractmethod
    def build(self, spec: ModelSpec, num_classes: int, input_size: int, weights: str = RANDOM) -> str:
        """Create the model; weights: 'random', 'pretrained' (local framework cache only) or a
        file. Returns what was loaded, for config.json: 'random' or the file's path."""

    def load(self, model_file: Path, spec: ModelSpec, num_classes: int, input_size: int) -> None:
        """Rebuild a model that ``save`` wrote (a train.py run): built with the file as its weights."""
        self.build(spec, num_classes, input_size, weights=str(model_file))
        self.model_file = Path(model_file)

    @abstractmethod
    def save(self, folder: Path) -> Path:
        """Save the model into folder (``model_suffix``); returns the file."""

    def _set_model(self, spec: ModelSpec, num_classes: int, input_size: int) -> None:
        if input_size < spec.min_input_size:
            raise BackendError(f"{spec.name} needs --input-size >= {spec.min_input_size}, got {input_size}")
        self.spec, self.num_classes, self.input_size = spec, num_classes, input_size
        if self.preprocess_spec is None:
            self.preprocess_spec = spec

    def distribute(self, rank: int, world: int, address: str) -> None:
        """Join a data-parallel group of ``world`` processes as ``rank`` (rendezvous at
        ``address``, tcp://host:port): from then on evaluate/train_epoch sum over the group."""
        raise BackendError(f"backend {self.name} has no data-parallel mode; --data-parallel needs "
                           "--backend pytorch")

    def leave(self) -> None:
        """Leave the data-parallel group (no-op outside one)."""

    # data and work --------------------------------------------------------------------------------
    @abstractmethod
    def prepare(self, x: np.ndarray) -> Any:
        """Raw float32 NHWC [0, 255] batch -> the model's input (preprocessed, on the device)."""

    def predict(self, x) -> np.ndarray:
        raise NotImplementedError

    outputs_probabilities: ClassVar[bool] = False  # softmax outputs (Keras) rather than logits

    def evaluate(self, batches: Iterable[tuple[Any, np.ndarray | None]],
                 progress: Callable[[int], Any] | None = None) -> EvalMetrics:
        """Forward every batch; progress(1) after each."""
        sums = MetricSums(self.outputs_probabilities)
        for x, y in batches:
            sums.add(self.predict(x), y)
            if progress is not None:
                progress(1)
        return sums.result()

    def configure_training(self, opt: str, lr: float, momentum: float, weight_decay: float,
                           bn_momentum: float | None = None) -> None:
        """Optimizer and BatchNorm settings. bn_momentum: the share of each batch in the running
        statistics (PyTorch's convention), for every BatchNorm layer; None keeps the model's own."""
        raise BackendError(f"backend {self.name} cannot train")

    def set_lr(self, lr: float) -> None:
        raise NotImplementedError

    def train_epoch(self, batches, progress=None) -> EvalMetrics:
        raise NotImplementedError

    # statistics -----------------------------------------------------------------------------------
    @abstractmethod
    def count_params(self) -> int: ...

    @abstractmethod
    def count_flops(self) -> float | None:
        """Per sample, multiply-accumulates counted once (see ModelStats)."""

    def stats(self) -> ModelStats:
        """Parameters, FLOPs per sample and the saved model's size (saved to a temporary folder
        when the model has no file yet)."""
        if self.model_file is not None and Path(self.model_file).exists():
            fsize = file_size(self.model_file)
        else:
            with tempfile.TemporaryDirectory(prefix="mlel-size-") as tmp:
                path = self.save(Path(tmp))
                fsize = file_size(path)
        return ModelStats(self.count_params(), self.count_flops(), fsize)


def check_weights_file(weights: str) -> Path:
    path = Path(os.path.expanduser(weights))
    if not path.is_file():
        raise BackendError(f"--weights {weights}: no such file. Use --weights random, --weights "
                           "pretrained (the framework's local cache) or a local weights file")
    return path
