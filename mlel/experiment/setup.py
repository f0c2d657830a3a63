"""Resolve options into a runnable setup — backend, model, data — before any folder exists.

Every problem with the options (unknown model or backend, missing data or weights, a run folder
that is not a training run's) is a ``UsageError`` raised here, so a bad command leaves nothing on
disk and exits 2.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlel.base.errors import UsageError
from mlel.base.io import read_json
from mlel.base.names import runnable_backend

from .options import BUILTIN, InferOptions, RunOptions, TrainOptions, check_run_options, check_train_options
from .rundir import resolve_seed

DIGITS_INPUT_SIZE = 32  # 8x8 digits: larger inputs add compute, not information
IMAGENET_CLASSES = 1000
LIKE_TRAIN = "like-train"


@dataclass
class Setup:
    """Everything resolved from the options, before any folder exists."""
    backend: Any
    spec: Any
    input_size: int
    num_classes: int
    dataset: str
    data: Any = None
    val_data: Any = None
    data_path: str | None = None
    trained_run: Path | None = None
    trained_config: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)  # decisions the run log states (e.g. the head size)
    devices: list | None = None  # each replica's device where the backend mirrors the model itself


def _read_train_config(folder: Path) -> dict:
    try:
        cfg = read_json(folder / "config.json")
    except (OSError, ValueError) as exc:
        raise UsageError(f"--infer-model {folder}: not a train.py run folder ({exc})") from None
    if not isinstance(cfg, dict) or "epochs" not in cfg or "model" not in cfg:
        raise UsageError(f"--infer-model {folder}: its config.json is not a training run's")
    return cfg


def _make_backend(name: str, device: str):
    from mlel.backends import get_backend
    return get_backend(name)(device=device)


def _input_size(opts: RunOptions, backend, spec, dataset: str) -> int:
    if opts.input_size:
        return int(opts.input_size)
    if dataset == "digits":
        return max(DIGITS_INPUT_SIZE, spec.min_input_size)
    return backend.default_input_size(spec)


def _trained_run(target: str) -> tuple[Path | None, dict]:
    """(run folder, its config) where ``target`` names a train.py run folder; (None, {}) for a
    model name."""
    folder = Path(target).expanduser()
    if folder.is_dir():
        return folder, _read_train_config(folder)
    if os.sep in target or target.startswith("."):
        raise UsageError(f"--infer-model {target}: no such run folder")
    return None, {}


def _inference_backend(opts: InferOptions, trained_run: Path | None, trained_cfg: dict):
    backend_name = runnable_backend(opts.backend or trained_cfg.get("backend") or "pytorch")
    if trained_run is not None:
        source = runnable_backend(trained_cfg["backend"])
        if backend_name.replace("onnx_", "") != source:
            raise UsageError(f"the model in {trained_run} was trained with {source}: infer it "
                             f"with --backend {source} or onnx_{source}")
    backend = _make_backend(backend_name, opts.device)
    preprocessing = opts.eval_preprocessing
    if preprocessing == LIKE_TRAIN:
        preprocessing = trained_cfg.get("preprocessing") or BUILTIN
    if preprocessing not in (BUILTIN, LIKE_TRAIN):
        backend.preprocess_spec = backend.resolve_model(preprocessing)
    return backend


def setup_inference(opts: InferOptions) -> Setup:
    from mlel.experiment.data import default_dataset, load_dataset

    check_run_options(opts)
    target = opts.infer_model or opts.model
    if not target:
        raise UsageError("name a model: --model NAME (or --infer-model NAME | TRAIN_RUN_FOLDER)")
    trained_run, trained_cfg = _trained_run(target)
    backend = _inference_backend(opts, trained_run, trained_cfg)
    spec = backend.resolve_model(trained_cfg.get("model", target))
    dataset = opts.dataset or (trained_cfg.get("dataset") if trained_run and not opts.data_path else None) \
        or default_dataset(opts.data_path, "infer")
    data_path = opts.data_path or (trained_cfg.get("data_path") if dataset == trained_cfg.get("dataset") else None)
    input_size = opts.input_size or trained_cfg.get("input_size") or _input_size(opts, backend, spec, dataset)
    data = load_dataset(dataset, "validation", input_size, data_path=data_path,
                        resize_size=backend.resize_size(spec, input_size),
                        batch_size=opts.batch_size, n_batches=opts.n_batches, interpolation=opts.interpolation)
    num_classes, note = head_classes(trained_cfg.get("num_classes"), opts.weights, data.num_classes, dataset)
    if data.num_classes and data.num_classes > num_classes:
        raise UsageError(f"{dataset} has {data.num_classes} classes, the model {num_classes}")
    return Setup(backend, spec, int(input_size), num_classes, dataset, data, None, data_path,
                 trained_run=trained_run, trained_config=trained_cfg, notes=[note])


def head_classes(trained: int | None, weights: str | None, data_classes: int | None,
                 dataset: str) -> tuple[int, str]:
    """(classes of the model's head, why): a trained run's own; ImageNet's for pretrained weights
    or a weights file (they say so); else, for an untrained model, the data set's classes, so a
    random 10-class model is not scored on a 1000-class head."""
    if trained:
        return int(trained), f"head: {int(trained)} classes, as the training run's model"
    if weights not in (None, "random"):
        return IMAGENET_CLASSES, f"head: {IMAGENET_CLASSES} classes (ImageNet), as the weights ({weights})"
    if data_classes:
        return int(data_classes), (f"head: {int(data_classes)} classes, sized to {dataset} (an untrained "
                                   "model; --weights FILE or pretrained keeps ImageNet's 1000)")
    return IMAGENET_CLASSES, f"head: {IMAGENET_CLASSES} classes (ImageNet; {dataset} has no labels)"


def setup_training(opts: TrainOptions) -> Setup:
    from mlel.experiment.data import default_dataset, load_dataset

    check_train_options(opts)
    backend_name = runnable_backend(opts.backend or "pytorch")
    backend = _make_backend(backend_name, opts.device)
    if not backend.can_train:
        raise UsageError(f"backend {backend_name} runs exported models and cannot train: train "
                         f"with --backend {backend_name.replace('onnx_', '')}, then measure the "
                         f"export with infer.py --infer-model RUN_FOLDER --backend {backend_name}")
    spec = backend.resolve_model(opts.model)
    if opts.preprocessing != BUILTIN:
        backend.preprocess_spec = backend.resolve_model(opts.preprocessing)
    dataset = opts.dataset or default_dataset(opts.data_path, "train")
    input_size = _input_size(opts, backend, spec, dataset)
    resize = backend.resize_size(spec, input_size)
    from mlel.experiment.augment import make_augment
    train = load_dataset(dataset, "train", input_size, data_path=opts.data_path, resize_size=resize,
                         batch_size=opts.batch_size, interpolation=opts.interpolation,
                         augment=make_augment(opts.auto_augment, opts.random_erase))
    val = load_dataset(dataset, "validation", input_size, data_path=opts.data_path,
                       resize_size=resize, batch_size=opts.batch_size, interpolation=opts.interpolation)
    return Setup(backend, spec, int(input_size), int(train.num_classes), dataset, train, val,
                 opts.data_path)


def _load_trained(setup: Setup, weights: str) -> str:
    from mlel.backends import RANDOM, get_backend
    if weights not in (RANDOM, None):
        raise UsageError("--weights does not apply to a train.py run folder: its trained model is loaded")
    source = setup.trained_config["backend"]
    model_file = setup.trained_run / get_backend(source).model_suffix
    if not model_file.is_file():
        raise UsageError(f"{setup.trained_run} has no trained model ({model_file.name}); "
                         "the training run may be incomplete")
    setup.backend.load(model_file, setup.spec, setup.num_classes, setup.input_size)
    return str(model_file)


def seed_and_build(setup: Setup, opts: RunOptions) -> tuple[int, str]:
    """Seed the backend, then build or load the model: (seed, what config.json records as weights)."""
    from mlel.backends import RANDOM
    seed = resolve_seed(opts.seed)
    setup.backend.seed(seed)
    weights = opts.weights or RANDOM
    if setup.trained_run is not None:
        return seed, _load_trained(setup, weights)
    return seed, setup.backend.build(setup.spec, setup.num_classes, setup.input_size, weights)
