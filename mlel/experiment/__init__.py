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
``mlel.base.errors.UsageError`` before any folder is created; the CLIs turn them into exit code 2.

One module per concern: ``options`` (what to run), ``setup`` (options -> backend, model, data),
``rundir`` (folder, config, incomplete mark), ``console`` (logfile tee, progress bars), ``signals``
(SIGINT/SIGTERM -> Interrupted, exit codes), ``runner`` (the measured loops), ``trust_run`` (``--trust``:
calibration and robustness after the measured window, in a window of their own), ``record`` (a measured
block of your own code). The infer/train command lines are :mod:`mlel.apps.experiment_cli`. Platform
capture lives in ``mlel.base.platform``.
"""
from mlel.base.errors import UsageError

from .console import progress, tee_output
from .options import InferOptions, RunOptions, RunResult, TrainOptions, lr_at
from .rundir import create_run_dir, resolve_seed
from .runner import run_inference, run_training
from .setup import Setup, setup_inference, setup_training
from .signals import Interrupted, SignalWatch, exit_process, signals_raise

__all__ = ["InferOptions", "Interrupted", "RunOptions", "RunResult", "Setup", "SignalWatch",
           "TrainOptions", "UsageError", "create_run_dir", "exit_process", "lr_at", "progress",
           "resolve_seed", "run_inference", "run_training", "setup_inference", "setup_training",
           "signals_raise", "tee_output"]
