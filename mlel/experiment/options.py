"""What one experiment is asked to do: the options of infer.py / train.py, and how a run ended.

Plain (mutable) dataclasses on purpose: the CLI fills them from argparse and ``config.json``
records them resolved (``dataclasses.asdict``). Field names are the CLI flags with ``_``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from mlel.experiment.augment import AUTO_AUGMENT, INTERPOLATIONS
from mlel.base.errors import UsageError

OPTIMIZERS = ("sgd", "adam", "rmsprop")
LR_SCHEDULERS = ("steplr", "cosine")
BUILTIN = "builtin"  # preprocessing: the model's own
MAX_SEED = 2 ** 32 - 1   # numpy's (and so Keras's) seed range; torch takes it too
MIN_INTERVAL_S = 0.01    # faster sampling measures the monitor more than the model
MAX_INTERVAL_S = 3600.0
MAX_CPU_TDP_W = 5000.0   # no CPU package comes near; a typo (e.g. mW) fails loudly
SUFFIX_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")  # one path component, no escape
DEFAULT_WARMUP_BATCHES = 2  # the 1st batch compiles / allocates, the 2nd runs on what it cached
TRUST_HELP = ("after the measured window, evaluate what the model trades for its efficiency on the same "
              "evaluation data: calibration (ECE over 15 confidence bins, NLL) and robustness (top-1 under "
              "5 corruptions x 3 severities, seeded from --seed: the same corrupted inputs on every "
              "backend). These passes have their own measured window (trust_*.json in the run folder: "
              "the trust evaluation's energy and duration), so the inference energy stays comparable. "
              "Needs labelled data (digits, imagenet): synthetic data records nothing")


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
    interpolation: str = "bilinear"     # resampling of the images: bilinear | nearest | bicubic
    suffix: str | None = None           # appended to the run folder's name
    data_parallel: int = 1              # processes, one per device (PyTorch DDP); see parallel.py
    repeat: int = 1                     # runs of this configuration (seeds seed, seed+1, ...)
    repeat_index: int = 1               # which of the repeats this run is (1-based; set by repeat.py)
    repeat_group: str | None = None     # shared by the repeats of one command (set by repeat.py)


@dataclass
class InferOptions(RunOptions):
    infer_model: str | None = None      # model name, or a train.py run folder (same as model)
    eval_preprocessing: str = BUILTIN   # builtin | like-train | a model name
    warmup_batches: int = DEFAULT_WARMUP_BATCHES  # batches run before the measurement
    min_duration_s: float = 0.0         # whole passes over the data until this long is measured
    trust: bool = False                 # calibration and robustness after the measured window (trust_run)


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
    auto_augment: str = "none"          # none | ta_wide | ra (mlel.experiment.augment)
    random_erase: float = 0.0           # probability of erasing a rectangle per training image
    gpu_monitor_interval: float = 1.0
    cpu_monitor_interval: float = 1.0


@dataclass
class RunResult:
    run_dir: Path | None
    exit_code: int
    reason: str | None = None           # why it ended early
    results: dict | None = None
    trust: dict | None = None           # trust_results.json of an infer.py --trust run


def _finite(name: str, value, low: float | None = None, high: float | None = None,
            low_open: bool = False) -> None:
    """UsageError unless ``value`` is a finite number in [low, high] ((low, high] if low_open)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise UsageError(f"{name} must be {'>' if low_open else '>='} {_num(low)}, got {_num(value)}")
    if high is not None and value > high:
        raise UsageError(f"{name} must be <= {_num(high)}, got {_num(value)}")


def _num(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _whole(name: str, value, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name} must be a whole number, got {value!r}")
    _finite(name, value, low, high)


def _choice(name: str, value, choices) -> None:
    if value not in choices:
        raise UsageError(f"unknown {name} {value!r}; valid choices: {', '.join(choices)}")


def _check_measurement(opts: RunOptions) -> None:
    """Options that decide what energy is recorded: a bad one would measure nothing, or nonsense."""
    if opts.gpu_monitor_interval != 0:  # 0: GPUs not monitored (documented)
        _finite("--gpu-monitor-interval", opts.gpu_monitor_interval, MIN_INTERVAL_S, MAX_INTERVAL_S)
    # the CPU is in every run's energy (SPEC §4): its monitor cannot be switched off
    _finite("--cpu-monitor-interval", opts.cpu_monitor_interval, MIN_INTERVAL_S, MAX_INTERVAL_S)
    _finite("--idle-seconds", opts.idle_seconds, 0, MAX_INTERVAL_S)
    if opts.cpu_tdp is not None:
        _finite("--cpu-tdp", opts.cpu_tdp, 0, MAX_CPU_TDP_W, low_open=True)
    if opts.seed != -1:
        _whole("--seed", opts.seed, 0, MAX_SEED)


def _check_output(opts: RunOptions) -> None:
    """The run folder must land inside --output-dir, which must be (or become) a folder."""
    if opts.suffix is not None and not SUFFIX_PATTERN.fullmatch(opts.suffix):
        raise UsageError(f"--suffix {opts.suffix!r}: use letters, digits and . _ + - (up to 100, "
                         "not starting with . or -): it names part of one folder, not a path")
    out = Path(opts.output_dir).expanduser()
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                raise UsageError(f"--output-dir {opts.output_dir}: {folder} exists and is not a folder")
            break


def check_run_options(opts: RunOptions) -> None:
    """UsageError for options that cannot run or would record nonsense (argparse checks only the
    types); called before any folder exists."""
    _whole("--batch-size", opts.batch_size, 1)
    if opts.n_batches is not None and opts.n_batches != -1:
        if opts.n_batches == 0:
            raise UsageError("--n-batches 0 leaves nothing to measure (-1: all)")
        _whole("--n-batches", opts.n_batches, 1)
    if opts.input_size is not None:
        _whole("--input-size", opts.input_size, 1, 4096)
    _whole("--repeat", opts.repeat, 1, 1000)
    _whole("--data-parallel", opts.data_parallel, 1, 64)
    _choice("--interpolation", opts.interpolation, INTERPOLATIONS)
    if isinstance(opts, InferOptions):
        _whole("--warmup-batches", opts.warmup_batches, 0, 10_000)
        _finite("--min-duration", opts.min_duration_s, 0, 86_400)
        if opts.min_duration_s > 0 and opts.data_parallel > 1:  # ranks would time their passes apart
            raise UsageError("--min-duration cannot be combined with --data-parallel; use --n-batches")
        if opts.trust and opts.data_parallel > 1:  # each rank would see only its shard's inputs
            raise UsageError("--trust cannot be combined with --data-parallel; measure trust in a "
                             "single-process run")
    _check_measurement(opts)
    _check_output(opts)


def check_train_options(opts: TrainOptions) -> None:
    check_run_options(opts)
    if not opts.model:
        raise UsageError("name a model: --model NAME")
    _whole("--epochs", opts.epochs, 1)
    if opts.opt not in OPTIMIZERS:
        raise UsageError(f"unknown --opt {opts.opt!r}; valid choices: {', '.join(OPTIMIZERS)}")
    if opts.lr_scheduler not in LR_SCHEDULERS:
        raise UsageError(f"unknown --lr-scheduler {opts.lr_scheduler!r}; valid choices: "
                         f"{', '.join(LR_SCHEDULERS)}")
    _finite("--lr", opts.lr, 0, low_open=True)
    _finite("--momentum", opts.momentum, 0)
    _finite("--weight-decay", opts.weight_decay, 0)
    _finite("--lr-gamma", opts.lr_gamma, 0, low_open=True)
    _finite("--early-delta", opts.early_delta, 0)
    _finite("--random-erase", opts.random_erase, 0, 1)
    _choice("--auto-augment", opts.auto_augment, AUTO_AUGMENT)
    _whole("--lr-step-size", opts.lr_step_size, 1)
    _whole("--early-patience", opts.early_patience, 1)
    if opts.full_epochs is not None:
        _whole("--full-epochs", opts.full_epochs, 1)


def lr_at(opts: TrainOptions, epoch: int) -> float:
    """The learning rate of an epoch (0-based): step decay or cosine annealing."""
    if opts.lr_scheduler == "cosine":
        return 0.5 * opts.lr * (1 + math.cos(math.pi * epoch / opts.epochs))
    return opts.lr * opts.lr_gamma ** (epoch // max(1, opts.lr_step_size))
