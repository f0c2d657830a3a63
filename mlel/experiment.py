"""Experiments: one measured inference or training run -> one run folder (SPEC §2).

    from mlel.experiment import InferOptions, run_inference
    result = run_inference(InferOptions(model="ResNet50", backend="torch"))
    result.run_dir, result.exit_code          # 0, or 130 / 143 / 1 for an interrupted run

What a run writes, in order: ``config.json`` (every option, resolved), ``execution_platform.json``,
``requirements.txt``, ``logfile.txt`` (the console, while it runs), the monitoring files (written
by mlel.monitoring while the measured block runs), then ``validation_results.json`` (inference) or
``results.json`` and the trained model (training). A run that ends early (SIGTERM, Ctrl-C, an
error) keeps what it wrote, gets ``incomplete.json`` {"reason": ...} instead of a results file,
and a non-zero exit code (130 SIGINT, 143 SIGTERM, 1 error).

Problems with the options (unknown model, missing data, missing weights) are raised as
``UsageError`` before any folder is created; the CLIs turn them into exit code 2.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import json
import logging
import math
import os
import platform
import secrets
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .backends.base import BackendError
from .data import DataError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_SIGINT, EXIT_SIGTERM = 0, 1, 2, 130, 143
DIGITS_INPUT_SIZE = 32  # 8x8 digits: larger inputs add compute, not information
IMAGENET_CLASSES = 1000

log = logging.getLogger("mlel.experiment")


class UsageError(Exception):
    """The options cannot run (the message says which and what to do instead)."""


class Interrupted(BaseException):
    """SIGTERM (or SIGINT) arrived: unwinds like KeyboardInterrupt, past ``except Exception``."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# options ----------------------------------------------------------------------------------------
@dataclass
class RunOptions:
    """Options shared by inference and training (the CLI flags, dashes as underscores)."""
    model: str | None = None
    backend: str | None = None          # None: pytorch, or the training run's backend
    dataset: str | None = None          # None: imagenet with data_path, else synthetic / digits
    data_path: str | None = None
    n_batches: int | None = None        # None or -1: all (synthetic: data.SYNTHETIC_BATCHES)
    batch_size: int = 32
    input_size: int | None = None       # None: the model's native size (digits: 64)
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
    eval_preprocessing: str = "builtin"  # builtin | like-train | a model name
    warmup: int = 1                      # batches run before the measurement


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
    preprocessing: str = "builtin"
    gpu_monitor_interval: float = 1.0
    cpu_monitor_interval: float = 1.0


@dataclass
class RunResult:
    run_dir: Path | None
    exit_code: int
    reason: str | None = None           # why it ended early
    results: dict | None = None


# run folder pieces ------------------------------------------------------------------------------
def resolve_seed(seed: int | None) -> int:
    return secrets.randbelow(2 ** 32) if seed is None or seed < 0 else int(seed)


def create_run_dir(output_dir, task: str, suffix: str | None = None,
                   now: datetime | None = None) -> tuple[Path, str]:
    """``<output_dir>/<task>_<YYYY_MM_DD_HH_MM_SS>[_suffix]``, made unique with ``_2``, ``_3``
    when runs start in the same second. Returns the folder and the timestamp."""
    stamp = (now or datetime.now()).strftime("%Y_%m_%d_%H_%M_%S")
    base = f"{task}_{stamp}" + (f"_{suffix}" if suffix else "")
    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = root / (base if n == 1 else f"{base}_{n}")
        try:
            path.mkdir()  # atomic: two runs never share a folder
            return path, stamp
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a unique run folder {root / base}_N")


def _clean(obj):
    """JSON-safe: numpy scalars to Python, NaN/inf to null, paths to strings."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path, obj) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(_clean(obj), indent=4))
    os.replace(tmp, path)  # readers see the old file or the new one


def cpu_brand() -> str:
    """The CPU's brand string ('model name' in /proc/cpuinfo), as the 2022 logs record it."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_info() -> dict:
    """{"0": {"Name", "Memory" (MiB), "UUID"}, ...} via NVML; {} without NVIDIA GPUs."""
    try:
        import pynvml
        pynvml.nvmlInit()
    except Exception:
        return {}
    gpus = {}
    try:
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name, uuid = pynvml.nvmlDeviceGetName(handle), pynvml.nvmlDeviceGetUUID(handle)
            gpus[str(i)] = {
                "Name": name.decode() if isinstance(name, bytes) else name,
                "Memory": pynvml.nvmlDeviceGetMemoryInfo(handle).total / 1024 ** 2,
                "UUID": uuid.decode() if isinstance(uuid, bytes) else uuid,
            }
    except Exception:
        pass
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()
    return gpus


def platform_info() -> dict:
    """The execution_platform.json record (the 2022 keys)."""
    import psutil
    uname = platform.uname()
    freq = None
    with contextlib.suppress(Exception):
        freq = psutil.cpu_freq()
    memory = psutil.virtual_memory()
    return {
        "System": uname.system, "Node Name": uname.node, "Release": uname.release,
        "Version": uname.version, "Machine": uname.machine, "Processor": cpu_brand(),
        "Physical cores": psutil.cpu_count(logical=False), "Total cores": psutil.cpu_count(logical=True),
        "Max Frequency": freq.max if freq else None, "Min Frequency": freq.min if freq else None,
        "Current Frequency": freq.current if freq else None,
        "Total": memory.total, "Available": memory.available, "Used": memory.used,
        "GPU": gpu_info(),
    }


def requirements_lines() -> list[str]:
    """``# <python version>`` lines, then ``name==version`` of every installed distribution."""
    lines = [f"# {line}" for line in sys.version.splitlines()]
    dists = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            dists[name] = dist.version
    lines += [f"{name}=={dists[name]}" for name in sorted(dists, key=str.lower)]
    return lines


class _LogFile:
    """The logfile side of the tee: lines as a terminal shows them (a progress bar's last state,
    not every redraw)."""

    def __init__(self, path):
        self.fh = open(path, "a", encoding="utf-8")
        self.line = ""

    def write(self, text: str) -> None:
        parts = (self.line + text).split("\n")
        self.line = parts.pop()
        for part in parts:
            self.fh.write(part.rsplit("\r", 1)[-1] + "\n")
        self.fh.flush()

    def close(self) -> None:
        if self.line.strip("\r"):
            self.fh.write(self.line.rsplit("\r", 1)[-1] + "\n")
        self.fh.close()


class _Tee:
    def __init__(self, stream, logfile: _LogFile):
        self._stream, self._log = stream, logfile

    def write(self, text):
        self._stream.write(text)
        self._log.write(text)
        return len(text)

    def flush(self):
        self._stream.flush()

    def __getattr__(self, name):  # isatty, encoding, fileno: the console's
        return getattr(self._stream, name)


@contextlib.contextmanager
def tee_output(path):
    """Console output (stdout, stderr, logging) also goes to ``path``."""
    logfile = _LogFile(path)
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(old[0], logfile), _Tee(old[1], logfile)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for noisy in ("tensorflow", "absl", "tf2onnx", "h5py"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        sys.stdout, sys.stderr = old
        logfile.close()


_signals_received: list[int] = []  # signals are process-wide; the handler records them here too


@contextlib.contextmanager
def signals_raise():
    """SIGTERM and SIGINT raise Interrupted in the main thread, so the run unwinds (monitoring
    flushes, incomplete.json is written) instead of dying mid-write. The signal is also recorded:
    an exception raised where Python ignores it (a finaliser, a callback) would be lost, so the
    batch loops check the record too (``raise_if_signalled``)."""
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        _signals_received.append(signum)
        raise Interrupted(signum)

    _signals_received.clear()
    # a signal the parent ignores stays ignored (nohup, background jobs), as Python itself does for SIGINT
    wanted = [sig for sig in (signal.SIGTERM, signal.SIGINT) if signal.getsignal(sig) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, handler) for sig in wanted}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def raise_if_signalled() -> None:
    if _signals_received:
        raise Interrupted(_signals_received[-1])


def _ticker(bar):
    """A batch-progress callback: advances the bar, then stops the run if a signal came."""
    def tick(n=1):
        bar.update(n)
        raise_if_signalled()
    return tick


def progress(total: int | None, desc: str):
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="batch", dynamic_ncols=True, mininterval=0.5,
                file=sys.stderr)


# resolving options ------------------------------------------------------------------------------
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


def _read_train_config(folder: Path) -> dict:
    try:
        cfg = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"--infer-model {folder}: not a train.py run folder ({exc})") from None
    if "epochs" not in cfg or "model" not in cfg:
        raise UsageError(f"--infer-model {folder}: its config.json is not a training run's")
    return cfg


def _make_backend(name: str, device: str):
    from .backends import get_backend
    try:
        return get_backend(name)(device=device)
    except BackendError as exc:
        raise UsageError(str(exc)) from None


def _input_size(opts: RunOptions, backend, spec, dataset: str) -> int:
    if opts.input_size:
        return int(opts.input_size)
    if dataset == "digits":
        return max(DIGITS_INPUT_SIZE, spec.min_input_size)
    return backend.default_input_size(spec)


def _check_positive(opts: RunOptions) -> None:
    if opts.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {opts.batch_size}")
    if opts.n_batches is not None and opts.n_batches == 0:
        raise UsageError("--n-batches 0 leaves nothing to measure (-1: all)")
    if opts.input_size is not None and opts.input_size < 1:
        raise UsageError(f"--input-size must be >= 1, got {opts.input_size}")


def setup_inference(opts: InferOptions) -> Setup:
    from .backends import canonical_backend
    from .data import default_dataset, load_dataset

    _check_positive(opts)
    target = opts.infer_model or opts.model
    if not target:
        raise UsageError("name a model: --model NAME (or --infer-model NAME | TRAIN_RUN_FOLDER)")
    folder = Path(target).expanduser()
    trained_cfg, trained_run = {}, None
    if folder.is_dir():
        trained_run, trained_cfg = folder, _read_train_config(folder)
    elif os.sep in target or target.startswith("."):
        raise UsageError(f"--infer-model {target}: no such run folder")
    try:
        backend_name = canonical_backend(opts.backend or trained_cfg.get("backend") or "pytorch")
        if trained_run is not None:
            source = canonical_backend(trained_cfg["backend"])
            if backend_name.replace("onnx_", "") != source:
                raise UsageError(f"the model in {trained_run} was trained with {source}: infer it "
                                 f"with --backend {source} or onnx_{source}")
        backend = _make_backend(backend_name, opts.device)
        spec = backend.resolve_model(trained_cfg.get("model", target))
        if opts.eval_preprocessing not in ("builtin", "like-train"):
            backend.preprocess_spec = backend.resolve_model(opts.eval_preprocessing)
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    dataset = opts.dataset or (trained_cfg.get("dataset") if trained_run and not opts.data_path else None) \
        or default_dataset(opts.data_path, "infer")
    data_path = opts.data_path or (trained_cfg.get("data_path") if dataset == trained_cfg.get("dataset") else None)
    input_size = opts.input_size or trained_cfg.get("input_size") or _input_size(opts, backend, spec, dataset)
    num_classes = int(trained_cfg.get("num_classes") or IMAGENET_CLASSES)
    try:
        data = load_dataset(dataset, "validation", input_size, data_path=data_path,
                            resize_size=backend.resize_size(spec, input_size),
                            batch_size=opts.batch_size, n_batches=opts.n_batches)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    if data.num_classes and data.num_classes > num_classes:
        raise UsageError(f"{dataset} has {data.num_classes} classes, the model {num_classes}")
    return Setup(backend, spec, int(input_size), num_classes, dataset, data, None, data_path,
                 trained_run=trained_run, trained_config=trained_cfg)


def setup_training(opts: TrainOptions) -> Setup:
    from .backends import canonical_backend
    from .data import default_dataset, load_dataset

    _check_positive(opts)
    if not opts.model:
        raise UsageError("name a model: --model NAME")
    if opts.epochs < 1:
        raise UsageError(f"--epochs must be >= 1, got {opts.epochs}")
    if opts.opt not in ("sgd", "adam", "rmsprop"):
        raise UsageError(f"unknown --opt {opts.opt!r}; valid choices: sgd, adam, rmsprop")
    if opts.lr_scheduler not in ("steplr", "cosine"):
        raise UsageError(f"unknown --lr-scheduler {opts.lr_scheduler!r}; valid choices: steplr, cosine")
    try:
        backend_name = canonical_backend(opts.backend or "pytorch")
        backend = _make_backend(backend_name, opts.device)
        if not backend.can_train:
            raise UsageError(f"backend {backend_name} runs exported models and cannot train: train "
                             f"with --backend {backend_name.replace('onnx_', '')}, then measure the "
                             f"export with infer.py --infer-model RUN_FOLDER --backend {backend_name}")
        spec = backend.resolve_model(opts.model)
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    dataset = opts.dataset or default_dataset(opts.data_path, "train")
    input_size = _input_size(opts, backend, spec, dataset)
    resize = backend.resize_size(spec, input_size)
    try:
        train = load_dataset(dataset, "train", input_size, data_path=opts.data_path, resize_size=resize,
                             batch_size=opts.batch_size)
        val = load_dataset(dataset, "validation", input_size, data_path=opts.data_path,
                           resize_size=resize, batch_size=opts.batch_size)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    return Setup(backend, spec, int(input_size), int(train.num_classes), dataset, train, val,
                 opts.data_path)


def _build(setup: Setup, weights: str) -> str:
    """Build or load the model; returns what config.json records as weights."""
    backend = setup.backend
    try:
        if setup.trained_run is not None:
            if weights not in ("random", None):
                raise UsageError("--weights does not apply to a train.py run folder: its trained "
                                 "model is loaded")
            source = setup.trained_config["backend"]
            from .backends import canonical_backend, get_backend
            model_file = setup.trained_run / get_backend(canonical_backend(source)).model_suffix
            if not model_file.is_file():
                raise UsageError(f"{setup.trained_run} has no trained model ({model_file.name}); "
                                 "the training run may be incomplete")
            backend.load(model_file, setup.spec, setup.num_classes, setup.input_size)
            return str(model_file)
        return backend.build(setup.spec, setup.num_classes, setup.input_size, weights)
    except BackendError as exc:
        raise UsageError(str(exc)) from None


# running ----------------------------------------------------------------------------------------
# config.json keys in the order of the 2022 scripts' configs; the keys this project adds follow
_CONFIG_ORDER = ("infer_model", "backend", "model", "data_path", "n_batches", "batch_size",
                 "eval_preprocessing", "output_dir", "gpu_monitor_interval", "cpu_monitor_interval",
                 "seed", "epochs", "early_patience", "early_delta", "opt", "lr", "momentum",
                 "weight_decay", "bn_momentum", "lr_scheduler", "lr_step_size", "lr_gamma", "preprocessing", "timestamp")


def _config(opts: RunOptions, setup: Setup, *, seed: int, timestamp: str, weights: str, **extra) -> dict:
    cfg = dataclasses.asdict(opts)
    cfg.update(model=setup.spec.name, backend=setup.backend.name, dataset=setup.dataset,
               data_path=setup.data_path if setup.dataset == "imagenet" else None,
               input_size=setup.input_size, num_classes=setup.num_classes, device=setup.backend.device,
               seed=seed, weights=weights, timestamp=timestamp, **extra)
    ordered = {key: cfg.pop(key) for key in _CONFIG_ORDER if key in cfg}
    return {**ordered, **cfg}


def _why(exc: BaseException) -> tuple[int, str]:
    """(exit code, reason) of a run that ended early."""
    if isinstance(exc, Interrupted):
        return (EXIT_SIGINT if exc.signum == signal.SIGINT else EXIT_SIGTERM), str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_SIGINT, "SIGINT"
    return EXIT_ERROR, f"error: {type(exc).__name__}: {exc}"


def _ended_early(run_dir: Path | None, exc: BaseException, extra: dict | None = None) -> RunResult:
    code, reason = _why(exc)
    if code == EXIT_ERROR:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    print(f"\nRun ended early ({reason}); its folder is kept, marked incomplete: {run_dir}",
          file=sys.stderr, flush=True)
    if run_dir is not None:
        with contextlib.suppress(OSError):
            write_json(run_dir / "incomplete.json", {"reason": reason, "time": time.time(), **(extra or {})})
    return RunResult(run_dir, code, reason)


def _start_run(task: str, opts: RunOptions, cfg_extra: dict, setup: Setup, seed: int,
               weights: str) -> tuple[Path, dict]:
    run_dir, stamp = create_run_dir(opts.output_dir, task, opts.suffix)
    try:
        cfg = _config(opts, setup, seed=seed, timestamp=stamp, weights=weights, **cfg_extra)
        write_json(run_dir / "config.json", cfg)
        write_json(run_dir / "execution_platform.json", platform_info())
        (run_dir / "requirements.txt").write_text("\n".join(requirements_lines()) + "\n")
    except BaseException as exc:  # the folder exists: it must say why it has no results
        with contextlib.suppress(OSError):
            write_json(run_dir / "incomplete.json", {"reason": _why(exc)[1], "time": time.time()})
        raise
    return run_dir, cfg


def _measure(run_dir: Path, opts: RunOptions, prefix: str):
    from .monitoring import measure
    return measure(run_dir, interval=min(opts.gpu_monitor_interval or math.inf,
                                         opts.cpu_monitor_interval or math.inf, 1.0),
                   gpu_interval=opts.gpu_monitor_interval, cpu_interval=opts.cpu_monitor_interval,
                   prefix=prefix, idle_seconds=opts.idle_seconds, cpu_tdp=opts.cpu_tdp,
                   country=opts.country)


def _energy_line(m) -> str:
    if not m.sources:
        return "energy: no power source could be read"
    sources = ", ".join(f"{s} ({kind})" for s, kind in m.sources.items())
    return f"energy: {m.energy_ws:.1f} J from {sources}"


def _seed_and_build(setup: Setup, opts: RunOptions) -> tuple[int, str]:
    """Seed the backend, then build the model: (seed, what weights were loaded)."""
    from .backends import RANDOM
    seed = resolve_seed(opts.seed)
    setup.backend.seed(seed)
    return seed, _build(setup, opts.weights or RANDOM)


def run_inference(opts: InferOptions) -> RunResult:
    """Measure one model's inference; see the module doc for what lands in the run folder."""
    with signals_raise():
        run_dir = None
        try:
            setup = setup_inference(opts)
            seed, weights = _seed_and_build(setup, opts)
            stats = setup.backend.stats()
            infer_model = opts.infer_model or opts.model
            n_batches = setup.data.n_batches(opts.batch_size, opts.n_batches)  # resolved: what runs
            run_dir, _ = _start_run("infer", opts, {"infer_model": infer_model, "n_batches": n_batches},
                                    setup, seed, weights)
        except (Interrupted, KeyboardInterrupt) as exc:
            return _ended_early(run_dir, exc)
        with tee_output(run_dir / "logfile.txt"):
            try:
                return _infer(opts, setup, run_dir, seed, weights, stats)
            except (Exception, Interrupted, KeyboardInterrupt) as exc:
                return _ended_early(run_dir, exc)


def _describe(setup: Setup, opts: RunOptions, seed: int, weights: str, n_batches: int) -> str:
    what = f"{setup.spec.name} ({setup.input_size}px, {setup.num_classes} classes)"
    if setup.trained_run is not None:
        what += f" trained in {setup.trained_run}"
    note = " - untrained: accuracy is meaningless" if weights == "random" and isinstance(opts, InferOptions) else ""
    return (f"{what} on {setup.backend.name} ({setup.backend.device}); data: {setup.dataset}, "
            f"{n_batches} batches of {opts.batch_size}; weights: {weights}{note}; seed {seed}")


def _infer(opts: InferOptions, setup: Setup, run_dir: Path, seed: int, weights: str, stats) -> RunResult:
    backend, data = setup.backend, setup.data
    n_batches = data.n_batches(opts.batch_size, opts.n_batches)
    print(f"MLEE inference -> {run_dir}\n  " + _describe(setup, opts, seed, weights, n_batches), flush=True)
    print(f"  model: {stats.params:,} parameters, "
          f"{'n.a.' if stats.flops is None else f'{stats.flops / 1e9:.3g} GFLOPs'} per sample, "
          f"{stats.fsize:,} bytes", flush=True)
    if data.in_memory:  # converted once, outside the measurement: the loop measures the model
        feed = data.materialize(opts.batch_size, opts.n_batches, backend.prepare)
        first = feed[:1]
    else:
        feed = data.batches(opts.batch_size, opts.n_batches, transform=backend.prepare)
        first = list(data.batches(opts.batch_size, 1, transform=backend.prepare))
    if opts.warmup > 0:
        backend.evaluate(first * opts.warmup)
    bar = None
    try:
        with _measure(run_dir, opts, "validation_") as m:
            bar = progress(n_batches, "inference")  # after the monitoring's notes
            start = time.time()
            metrics = backend.evaluate(feed, progress=_ticker(bar))
            end = time.time()
    finally:
        if bar is not None:
            bar.close()
    results = {"start": start, "end": end, "metrics": metrics.as_dict(),
               "model": dataclasses.asdict(stats)}
    write_json(run_dir / "validation_results.json", results)
    rate = metrics.n_samples / (end - start) if end > start else float("nan")
    acc = "n.a. (no labels)" if metrics.accuracy is None else \
        f"{metrics.accuracy:.4f} (top-5 {metrics.top_5_accuracy:.4f}, loss {metrics.loss:.4f})"
    print(f"done: {metrics.n_samples} samples in {end - start:.2f} s ({rate:.1f} samples/s); "
          f"accuracy {acc}; {_energy_line(m)}\n  results: {run_dir}", flush=True)
    return RunResult(run_dir, EXIT_OK, results=results)


def lr_at(opts: TrainOptions, epoch: int) -> float:
    """The learning rate of an epoch (0-based): step decay or cosine annealing."""
    if opts.lr_scheduler == "cosine":
        return 0.5 * opts.lr * (1 + math.cos(math.pi * epoch / opts.epochs))
    return opts.lr * opts.lr_gamma ** (epoch // max(1, opts.lr_step_size))


def run_training(opts: TrainOptions) -> RunResult:
    """Train one model under measurement; saves it in the run folder for infer.py."""
    with signals_raise():
        run_dir = None
        try:
            setup = setup_training(opts)
            seed, weights = _seed_and_build(setup, opts)
            setup.backend.configure_training(opts.opt, opts.lr, opts.momentum, opts.weight_decay,
                                             bn_momentum=opts.bn_momentum)
            extra = {"full_epochs": opts.full_epochs or opts.epochs,
                     "n_batches": setup.data.n_batches(opts.batch_size, opts.n_batches)}  # per epoch
            run_dir, _ = _start_run("train", opts, extra, setup, seed, weights)
        except BackendError as exc:
            raise UsageError(str(exc)) from None
        except (Interrupted, KeyboardInterrupt) as exc:
            return _ended_early(run_dir, exc)
        history = {k: [] for k in ("loss", "accuracy", "top_5_accuracy", "val_loss", "val_accuracy",
                                   "val_top_5_accuracy", "lr", "timestamp")}
        with tee_output(run_dir / "logfile.txt"):
            try:
                return _train(opts, setup, run_dir, seed, weights, history)
            except (Exception, Interrupted, KeyboardInterrupt) as exc:
                return _ended_early(run_dir, exc, {"history": history})


def _train(opts: TrainOptions, setup: Setup, run_dir: Path, seed: int, weights: str, history: dict) -> RunResult:
    backend, train, val = setup.backend, setup.data, setup.val_data
    n_train = train.n_batches(opts.batch_size, opts.n_batches)
    n_val = val.n_batches(opts.batch_size)
    print(f"MLEE training -> {run_dir}\n  " + _describe(setup, opts, seed, weights, n_train)
          + f"; {opts.epochs} epochs, {opts.opt} lr {opts.lr} ({opts.lr_scheduler})", flush=True)
    best, waited, stopped = math.inf, 0, None
    with _measure(run_dir, opts, "") as m:
        start = time.time()
        for epoch in range(opts.epochs):
            lr = lr_at(opts, epoch)
            backend.set_lr(lr)
            # one bar per epoch (no nested bars: the logfile keeps each epoch's last state)
            bar = progress(n_train + n_val, f"epoch {epoch + 1}/{opts.epochs}")
            try:
                fit = backend.train_epoch(
                    train.batches(opts.batch_size, opts.n_batches, shuffle=True, seed=seed + epoch,
                                  transform=backend.prepare), progress=_ticker(bar))
                ev = backend.evaluate(val.batches(opts.batch_size, transform=backend.prepare),
                                      progress=_ticker(bar))
            finally:
                bar.close()
            for key, value in (("loss", fit.loss), ("accuracy", fit.accuracy),
                               ("top_5_accuracy", fit.top_5_accuracy), ("val_loss", ev.loss),
                               ("val_accuracy", ev.accuracy), ("val_top_5_accuracy", ev.top_5_accuracy),
                               ("lr", lr), ("timestamp", time.time() * 1000)):
                history[key].append(value)
            print(f"  loss {fit.loss:.4f} acc {fit.accuracy:.4f} top5 {fit.top_5_accuracy:.4f} | "
                  f"val_loss {ev.loss:.4f} val_acc {ev.accuracy:.4f} val_top5 {ev.top_5_accuracy:.4f} "
                  f"| lr {lr:.3g}", flush=True)
            if ev.loss < best - opts.early_delta:
                best, waited = ev.loss, 0
            else:
                waited += 1
                if waited >= opts.early_patience:
                    stopped = epoch + 1
                    print(f"early stop: val_loss did not improve by {opts.early_delta} for "
                          f"{waited} epochs", flush=True)
                    break
        end = time.time()
    model_file = backend.save(run_dir)
    backend.model_file = model_file
    stats = backend.stats()
    results = {"start": start, "end": end, "history": history, "model": dataclasses.asdict(stats),
               "early_stopped_epoch": stopped, "model_file": model_file.name}
    write_json(run_dir / "results.json", results)
    print(f"done: {len(history['loss'])} epochs in {end - start:.1f} s; val accuracy "
          f"{history['val_accuracy'][-1]:.4f}; {_energy_line(m)}\n  trained model: {model_file}\n"
          f"  measure its inference: python infer.py --infer-model {run_dir}", flush=True)
    return RunResult(run_dir, EXIT_OK, results=results)


# command lines ----------------------------------------------------------------------------------
def add_run_arguments(parser, task: str) -> None:
    """The options infer.py and train.py share (their names are the 2022 scripts')."""
    from .backends import CHOICES
    from .data import DATASETS
    defaults = InferOptions() if task == "infer" else TrainOptions()
    g = parser.add_argument_group("model and backend")
    g.add_argument("--backend", type=str.lower, choices=CHOICES, default=None, metavar="NAME",
                   help="torch (= pytorch), tensorflow (= tf), onnx_torch (= onnx_pytorch: the PyTorch "
                        "model exported to ONNX, run by onnxruntime), onnx_tensorflow (= onnx_tf). "
                        "Default: pytorch" + (", or the training run's backend" if task == "infer" else ""))
    g.add_argument("--device", default="auto", help="cpu, cuda or cuda:N (default: cuda when the "
                   "backend sees a GPU, else cpu)")
    g.add_argument("--weights", default="random", metavar="random|pretrained|FILE",
                   help="random initialisation (default), 'pretrained' = ImageNet weights from the "
                        "framework's LOCAL cache (~/.cache/torch/hub/checkpoints, ~/.keras/models), or a "
                        "weights file (.pth state dict, Keras .h5, or .onnx for the onnx backends). "
                        "Nothing is ever downloaded.")
    g.add_argument("--input-size", type=int, default=None, metavar="PX",
                   help="image side in pixels (default: the model's native size, e.g. 224; "
                        f"digits: {DIGITS_INPUT_SIZE}, since they are 8x8 images)")
    g = parser.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, default=None,
                   help="imagenet (an ImageFolder tree at --data-path), digits (scikit-learn's "
                        "bundled 8x8 digits, 10 classes, offline), synthetic (random images, no "
                        "accuracy). Default: imagenet with --data-path, else "
                        + ("synthetic" if task == "infer" else "digits"))
    g.add_argument("--data-path", default=None, metavar="DIR",
                   help="ImageFolder-style data: one folder per class" +
                        (" (or DIR/val)" if task == "infer" else "; DIR/train and DIR/val"))
    g.add_argument("--n-batches", type=int, default=None, metavar="N",
                   help="batches to process (-1/default: all; synthetic data: 5)")
    g.add_argument("-b", "--batch-size", type=int, default=defaults.batch_size)
    g = parser.add_argument_group("measurement and output")
    g.add_argument("--output-dir", default=defaults.output_dir, metavar="DIR",
                   help="where the run folder <task>_<timestamp> is created (default: %(default)s)")
    g.add_argument("--suffix", default=None, help="appended to the run folder's name")
    g.add_argument("--gpu-monitor-interval", type=float, default=defaults.gpu_monitor_interval,
                   metavar="S", help="seconds between GPU power samples; 0: off (default: %(default)s)")
    g.add_argument("--cpu-monitor-interval", type=float, default=defaults.cpu_monitor_interval,
                   metavar="S", help="seconds between CPU power/process samples; 0: off (default: %(default)s)")
    g.add_argument("--idle-seconds", type=float, default=defaults.idle_seconds, metavar="S",
                   help="measure the idle power this long first (a baseline; default: %(default)s)")
    g.add_argument("--cpu-tdp", type=float, default=None, metavar="W",
                   help="the CPU's TDP, for the energy estimate where no RAPL sensor is readable")
    g.add_argument("--country", default=None, metavar="ISO",
                   help="ISO 3166 code of the grid, for the run's gCO2e (e.g. DEU)")
    g.add_argument("--seed", type=int, default=-1, help="random seed (-1: draw one and record it)")


def cli_main(parser, options_cls, runner, argv=None) -> int:
    """Parse, run, and map the outcome to an exit code (2: bad options, like argparse)."""
    args = parser.parse_args(argv)
    names = {f.name for f in dataclasses.fields(options_cls)}
    opts = options_cls(**{k: v for k, v in vars(args).items() if k in names})
    try:
        result = runner(opts)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return result.exit_code


def exit_process(code: int) -> None:
    """Leave the process with ``code``. A run cut short by a signal has written everything it keeps,
    so it skips interpreter teardown: a framework thread stopped mid-op can make C++ static
    destructors call std::terminate (SIGABRT), which would hide the 130/143 that says why it ended."""
    if code in (EXIT_SIGINT, EXIT_SIGTERM):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)
