"""What one experiment is asked to do: the options of infer.py / train.py, and how a run ended.

Plain (mutable) dataclasses on purpose: the CLI fills them from argparse and ``config.json``
records them resolved (``dataclasses.asdict``). Field names are the CLI flags with ``_``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from mlel.errors import UsageError

OPTIMIZERS = ("sgd", "adam", "rmsprop")
LR_SCHEDULERS = ("steplr", "cosine")
BUILTIN = "builtin"  # preprocessing: the model's own


@dataclass
class RunOptions:
    """Options shared by inference and training (the CLI flags, dashes as underscores)."""
    model: str | None = None
    backend: str | None = None          # None: pytorch, or the training run's backend
    dataset: str | None = None          # None: imagenet with data_path, else synthetic / digits
    data_path: str | None = None
    n_batches: int | None = None        # None or -1: all (synthetic: data.SYNTHETIC_BATCHES)
    batch_size: int = 32
    input_size: int | None = None       # None: the model's native size (digits: 32)
    weights: str = "random"             # random | pretrained (local cache only) | FILE
    device: str = "auto"
    output_dir: str = "runs"
    gpu_monitor_interval: float = 0.2
    cpu_monitor_interval: float = 0.2
    idle_seconds: float = 0.0
    cpu_tdp: float | None = None
    country: str | None = None
    seed: int = -1                      # -1: draw one (and record it)
    suffix: str | None = None           # appended to the run folder's name


@dataclass
class InferOptions(RunOptions):
    infer_model: str | None = None      # model name, or a train.py run folder (same as model)
    eval_preprocessing: str = BUILTIN   # builtin | like-train | a model name
    warmup: int = 1                     # batches run before the measurement


@dataclass
class TrainOptions(RunOptions):
    epochs: int = 3
    opt: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    bn_momentum: float | None = 0.1     # PyTorch's convention; None: each model's own
    lr_scheduler: str = "steplr"
    lr_step_size: int = 30
    lr_gamma: float = 0.1
    early_patience: int = 50
    early_delta: float = 0.01
    full_epochs: int | None = None      # None: epochs (this recipe is what the run trained)
    preprocessing: str = BUILTIN        # builtin | a model name whose preprocessing to train with
    gpu_monitor_interval: float = 1.0
    cpu_monitor_interval: float = 1.0


@dataclass
class RunResult:
    run_dir: Path | None
    exit_code: int
    reason: str | None = None           # why it ended early
    results: dict | None = None


def check_run_options(opts: RunOptions) -> None:
    """UsageError for sizes that cannot run (argparse checks only the types)."""
    if opts.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {opts.batch_size}")
    if opts.n_batches is not None and opts.n_batches == 0:
        raise UsageError("--n-batches 0 leaves nothing to measure (-1: all)")
    if opts.input_size is not None and opts.input_size < 1:
        raise UsageError(f"--input-size must be >= 1, got {opts.input_size}")


def check_train_options(opts: TrainOptions) -> None:
    check_run_options(opts)
    if not opts.model:
        raise UsageError("name a model: --model NAME")
    if opts.epochs < 1:
        raise UsageError(f"--epochs must be >= 1, got {opts.epochs}")
    if opts.opt not in OPTIMIZERS:
        raise UsageError(f"unknown --opt {opts.opt!r}; valid choices: {', '.join(OPTIMIZERS)}")
    if opts.lr_scheduler not in LR_SCHEDULERS:
        raise UsageError(f"unknown --lr-scheduler {opts.lr_scheduler!r}; valid choices: "
                         f"{', '.join(LR_SCHEDULERS)}")


def lr_at(opts: TrainOptions, epoch: int) -> float:
    """The learning rate of an epoch (0-based): step decay or cosine annealing."""
    if opts.lr_scheduler == "cosine":
        return 0.5 * opts.lr * (1 + math.cos(math.pi * epoch / opts.epochs))
    return opts.lr * opts.lr_gamma ** (epoch // max(1, opts.lr_step_size))
