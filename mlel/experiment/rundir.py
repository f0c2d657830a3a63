"""Run folders: the name, ``config.json``, the platform files, and the mark of an early end.

``<output_dir>/<task>_<YYYY_MM_DD_HH_MM_SS>[_suffix]`` holds, in the order written:
``config.json``, ``execution_platform.json``, ``requirements.txt``; a run that ends early gets
``incomplete.json`` {"reason", "time", ...} instead of a results file.
"""
from __future__ import annotations

import dataclasses
import secrets
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path

from mlel.base.errors import EXIT_FAILED, EXIT_SIGINT, MleeError, OutputError
from mlel.base.io import write_atomic, write_json
from mlel.base.platform import platform_record, requirements_lines

from .options import RunOptions, RunResult
from .signals import Interrupted

INCOMPLETE = "incomplete.json"
MAX_SAME_SECOND = 1000  # runs started in one second that still get their own folder

# config.json keys in the order of the 2022 scripts' configs; the keys this project adds follow
CONFIG_ORDER = ("infer_model", "backend", "model", "data_path", "n_batches", "batch_size",
                "eval_preprocessing", "output_dir", "gpu_monitor_interval", "cpu_monitor_interval",
                "seed", "epochs", "early_patience", "early_delta", "opt", "lr", "momentum",
                "weight_decay", "bn_momentum", "lr_scheduler", "lr_step_size", "lr_gamma",
                "preprocessing", "timestamp")


def resolve_seed(seed: int | None) -> int:
    """The seed to use: ``seed`` itself, or a fresh one for None / negative."""
    return secrets.randbelow(2 ** 32) if seed is None or seed < 0 else int(seed)


def create_run_dir(output_dir, task: str, suffix: str | None = None,
                   now: datetime | None = None) -> tuple[Path, str]:
    """``<output_dir>/<task>_<YYYY_MM_DD_HH_MM_SS>[_suffix]``, made unique with ``_2``, ``_3``
    when runs start in the same second. Returns the folder and the timestamp."""
    stamp = (now or datetime.now()).strftime("%Y_%m_%d_%H_%M_%S")
    base = f"{task}_{stamp}" + (f"_{suffix}" if suffix else "")
    root = Path(output_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        for n in range(1, MAX_SAME_SECOND):
            path = root / (base if n == 1 else f"{base}_{n}")
            try:
                path.mkdir()  # atomic: two runs never share a folder
                return path, stamp
            except FileExistsError:
                continue
    except OSError as exc:
        raise OutputError(f"cannot create a run folder in {root}: {exc.strerror or exc}") from exc
    raise OutputError(f"cannot create a unique run folder {root / base}_N")


def run_config(opts: RunOptions, resolved: dict) -> dict:
    """``config.json``: every option, overridden by what was resolved (model, backend, seed …),
    in the 2022 key order."""
    cfg = {**dataclasses.asdict(opts), **resolved}
    ordered = {key: cfg.pop(key) for key in CONFIG_ORDER if key in cfg}
    return {**ordered, **cfg}


def end_reason(exc: BaseException) -> tuple[int, str]:
    """(exit code, reason) of a run that ended early."""
    if isinstance(exc, Interrupted):
        return exc.exit_code, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_SIGINT, "SIGINT"
    return EXIT_FAILED, f"error: {type(exc).__name__}: {exc}"


def mark_incomplete(run_dir: Path, reason: str, extra: dict | None = None) -> None:
    """Write ``incomplete.json``; a failure to do so is reported, not raised (the run is ending)."""
    try:
        write_json(run_dir / INCOMPLETE, {"reason": reason, "time": time.time(), **(extra or {})})
    except OutputError as exc:
        print(f"could not mark {run_dir} incomplete: {exc}", file=sys.stderr, flush=True)


def ended_early(run_dir: Path | None, exc: BaseException, extra: dict | None = None) -> RunResult:
    """Report an early end (a traceback for errors that are not ours), mark the folder, and
    return the run's result with its exit code."""
    code, reason = end_reason(exc)
    if run_dir is not None:  # first: telling the console may fail (a closed pipe)
        mark_incomplete(run_dir, reason, extra)
    try:
        if code == EXIT_FAILED and not isinstance(exc, MleeError):
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        print(f"\nRun ended early ({reason}); its folder is kept, marked incomplete: {run_dir}",
              file=sys.stderr, flush=True)
    except (OSError, ValueError):  # no console left to tell; incomplete.json says it
        pass
    return RunResult(run_dir, code, reason)


def start_run(task: str, opts: RunOptions, resolved: dict) -> tuple[Path, dict]:
    """Create the run folder and write config, platform and requirements. If that fails, the
    folder says why it has no results."""
    run_dir, stamp = create_run_dir(opts.output_dir, task, opts.suffix)
    try:
        cfg = run_config(opts, {**resolved, "timestamp": stamp})
        write_json(run_dir / "config.json", cfg)
        write_json(run_dir / "execution_platform.json", platform_record())
        write_atomic(run_dir / "requirements.txt", ("\n".join(requirements_lines()) + "\n").encode())
    except BaseException as exc:  # the folder exists: it must say why it has no results
        mark_incomplete(run_dir, end_reason(exc)[1])
        raise
    return run_dir, cfg
