"""The command lines of infer.py / train.py (``python -m mlel.infer``, ``mlee-infer``, …).

``infer_main`` / ``train_main`` parse, run, optionally log the finished run folder to MLflow
(``--mlflow [URI]``), and return the exit code; ``infer_console`` / ``train_console`` are the
console entry points (they leave through ``exit_process``, keeping 130/143 intact).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from mlel.apps.command import invoked_as
from mlel.base.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, MleeError
from mlel.experiment.augment import AUTO_AUGMENT, INTERPOLATIONS
from mlel.base.names import BACKEND_CHOICES

from mlel.experiment.options import (BUILTIN, InferOptions, LR_SCHEDULERS, MAX_SEED, OPTIMIZERS, TRUST_HELP,
                                     TrainOptions)
from mlel.experiment.repeat import run_repeated
from mlel.experiment.runner import run_inference, run_training
from mlel.experiment.setup import DIGITS_INPUT_SIZE
from mlel.experiment.signals import exit_process

INFER_EXAMPLES = """\
examples:
  python -m mlel.infer --model resnet50 --backend torch     # synthetic data, random weights, 5 batches
  python -m mlel.infer --model MobileNetV3Small --backend onnx_torch --dataset digits
  python -m mlel.infer --model ResNet50 --backend tensorflow --weights pretrained \\
                       --data-path /data/imagenet/val      # ImageNet accuracy, if the weights are cached
  python -m mlel.infer --infer-model runs/train_2024_01_01_12_00_00   # a model that train.py trained
  python -m mlel.infer --infer-model runs/train_2024_01_01_12_00_00 --trust   # + calibration, robustness
(infer.py in a checkout and the mlee-infer command are the same tool)

The run folder (--output-dir/infer_<timestamp>) holds config.json, execution_platform.json,
requirements.txt, logfile.txt, validation_monitoring_*.json, validation_energy.json and
validation_results.json (start, end, metrics: accuracy, top_5_accuracy, loss, n_samples; model:
params, flops per sample, fsize). Merge it with merge_results.py.

"""
TRAIN_EXAMPLES = """\
examples:
  python -m mlel.train --model resnet18 --backend torch     # digits (32px), 3 epochs, on CPU
  python -m mlel.train --model MobileNetV3Small --backend tensorflow --epochs 3 --opt adam --lr 0.001
  python -m mlel.train --model ResNet50 --data-path /data/imagenet --epochs 90 --full-epochs 90
then measure the trained model's inference (also as an ONNX export):
  python -m mlel.infer --infer-model runs/train_<timestamp> [--backend onnx_torch]
(train.py in a checkout and the mlee-train command are the same tool)

The run folder (--output-dir/train_<timestamp>) holds config.json, execution_platform.json,
requirements.txt, logfile.txt, monitoring_*.json, energy.json, results.json (start, end, history per
epoch: loss, accuracy, top_5_accuracy, val_*, lr, timestamp; model: params, flops, fsize) and the
trained model (model.pth or model.weights.h5).

"""
RUN_EXIT_CODES = ("Exit codes: 0 done, 1 failed (folder marked incomplete, or the MLflow log failed),\n"
                  "2 bad options, 130 Ctrl-C (SIGINT), 143 terminated (SIGTERM).")


def _model_arguments(parser, task: str) -> None:
    g = parser.add_argument_group("model and backend")
    g.add_argument("--backend", type=str.lower, choices=BACKEND_CHOICES, default=None, metavar="NAME",
                   help="torch (= pytorch), tensorflow (= tf), onnx_torch (= onnx_pytorch: the PyTorch "
                        "model exported to ONNX, run by onnxruntime), onnx_tensorflow (= onnx_tf). "
                        "Default: pytorch" + (", or the training run's backend" if task == "infer" else ""))
    g.add_argument("--device", default="auto", help="cpu, cuda or cuda:N (default: cuda when the "
                   "backend sees a GPU, else cpu)")
    g.add_argument("--data-parallel", "--devices", dest="data_parallel", type=int, default=1, metavar="N",
                   help="data-parallel over N devices, one process each (PyTorch DistributedDataParallel: "
                        "GPUs 0..N-1 with NCCL, or N processes sharing the CPU with gloo); --batch-size "
                        "is per process (default: %(default)s)")
    g.add_argument("--weights", default="random", metavar="random|pretrained|FILE",
                   help="random initialisation (default), 'pretrained' = ImageNet weights from the "
                        "framework's LOCAL cache (~/.cache/torch/hub/checkpoints, ~/.keras/models), or a "
                        "weights file (.pth state dict, Keras .h5, or .onnx for the onnx backends). "
                        "Nothing is ever downloaded.")
    g.add_argument("--input-size", type=int, default=None, metavar="PX",
                   help="image side in pixels (default: the model's native size, e.g. 224; "
                        f"digits: {DIGITS_INPUT_SIZE}, since they are 8x8 images)")


def _data_arguments(parser, task: str, defaults) -> None:
    from mlel.experiment.data import DATASETS
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
    g.add_argument("-b", "--batch-size", type=int, default=defaults.batch_size,
                   help="default: %(default)s")
    g.add_argument("--interpolation", type=str.lower, choices=INTERPOLATIONS, default=defaults.interpolation,
                   help="resampling filter when images are resized (default: %(default)s)")


def _measurement_arguments(parser, defaults) -> None:
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
    g.add_argument("--seed", type=int, default=-1,
                   help=f"random seed in 0..{MAX_SEED} (-1, the default: draw one and record it)")
    g.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="N runs of this configuration, one run folder each, seeds seed, seed+1, ... "
                        "(config.json records repeat, repeat_index, repeat_group) (default: %(default)s)")
    g.add_argument("--mlflow", nargs="?", const="", default=None, metavar="URI",
                   help="after a successful run, log its folder to MLflow: to URI, or without one to "
                        "the default local store ./mlruns (needs the mlflow package)")
    g.add_argument("--rate-against", default=None, metavar="DIR",
                   help="with --mlflow: rate the run together with the merged logs in DIR and log its "
                        "rated metrics (value, index), letters (tags mlee.rating.<metric>, "
                        "mlee.compound) and label.pdf; DIR must hold the task's reference model "
                        "(ResNet101) measured in the same environment. Without it, or when the run "
                        "cannot be rated there, one line says why the ratings are not logged")


def add_run_arguments(parser, task: str) -> None:
    """The options infer.py and train.py share (their names are the 2022 scripts')."""
    defaults = InferOptions() if task == "infer" else TrainOptions()
    _model_arguments(parser, task)
    _data_arguments(parser, task, defaults)
    _measurement_arguments(parser, defaults)


def _bn_momentum(text: str) -> float | None:
    if text.lower() == "model":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1] or 'model', got {text}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1] or 'model', got {text}")
    return value


def build_infer_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Run a classification model's inference on one backend under power "
                               "monitoring (GPU via NVML, CPU via RAPL or an estimate) and write a run folder.",
        epilog=INFER_EXAMPLES + RUN_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--infer-model", "--model", dest="infer_model", required=True, metavar="NAME|DIR",
                        help="a model name, case-insensitive: the 2022 names (ResNet50, EfficientNetB0, "
                             "MobileNetV3Small, DenseNet121, VGG16, ...) or the framework's own "
                             "(resnet50, mobilenet_v3_small, ConvNeXtTiny); or a train.py run folder")
    parser.add_argument("--eval-preprocessing", default=BUILTIN, metavar="builtin|like-train|MODEL",
                        help="builtin: the model's standard preprocessing (default); like-train: what the "
                             "training run used (its --preprocessing); or a model name whose preprocessing to use")
    parser.add_argument("--warmup-batches", "--warmup", dest="warmup_batches", type=int,
                        default=InferOptions.warmup_batches, metavar="K",
                        help="batches run before the measurement starts, so the first (compiling, "
                             "caching) batch is never measured; the last, smaller batch's shape is "
                             "warmed too (default: %(default)s)")
    parser.add_argument("--min-duration", dest="min_duration_s", type=float,
                        default=InferOptions.min_duration_s, metavar="S",
                        help="repeat whole passes over the evaluation batches until at least S seconds "
                             "are measured (as MLPerf's minimum duration), so a small data set still "
                             "gives a window that can carry a grade (ratings need >= 1 s); the passes "
                             "are recorded in validation_results.json (default: %(default)s: one pass)")
    parser.add_argument("--trust", action="store_true", help=TRUST_HELP)
    add_run_arguments(parser, "infer")
    return parser


def _recipe_arguments(parser, d: TrainOptions) -> None:
    g = parser.add_argument_group("training recipe")
    g.add_argument("--epochs", type=int, default=d.epochs, help="default: %(default)s")
    g.add_argument("--opt", type=str.lower, choices=OPTIMIZERS, default=d.opt, help="default: %(default)s")
    g.add_argument("--lr", type=float, default=d.lr, help="initial learning rate (default: %(default)s)")
    g.add_argument("--momentum", type=float, default=d.momentum, help="sgd and rmsprop (default: %(default)s)")
    g.add_argument("--wd", "--weight-decay", dest="weight_decay", type=float, default=d.weight_decay,
                   help="default: %(default)s")
    g.add_argument("--bn-momentum", type=_bn_momentum, default=d.bn_momentum, metavar="F|model",
                   help="share of each batch in BatchNorm's running statistics (PyTorch's convention; "
                        "Keras's momentum is 1 - F), set alike in every framework and model so that a short "
                        "training evaluates on statistics of its trained weights; 'model': each model's own "
                        "(torchvision's MobileNetV3 0.01, Keras 0.01) (default: %(default)s)")
    g.add_argument("--lr-scheduler", type=str.lower, choices=LR_SCHEDULERS, default=d.lr_scheduler,
                   help="default: %(default)s")
    g.add_argument("--lr-step-size", type=int, default=d.lr_step_size,
                   help="steplr: decay every N epochs (default: %(default)s)")
    g.add_argument("--lr-gamma", type=float, default=d.lr_gamma, help="steplr: factor (default: %(default)s)")
    g.add_argument("--early-patience", type=int, default=d.early_patience,
                   help="stop after N epochs without val_loss improving by --early-delta (default: %(default)s)")
    g.add_argument("--early-delta", type=float, default=d.early_delta, help="default: %(default)s")
    g.add_argument("--full-epochs", type=int, default=None, metavar="N",
                   help="epochs of the model's full training, for the full-training energy and time "
                        "(default: --epochs, since this run's recipe is what it trained)")
    g.add_argument("--auto-augment", type=str.lower, choices=AUTO_AUGMENT, default=d.auto_augment,
                   metavar="POLICY", help="augmentation policy of the training images: ta_wide "
                   "(TrivialAugment), ra (RandAugment, 2 ops at 9/31), none (default: %(default)s)")
    g.add_argument("--random-erase", type=float, default=d.random_erase, metavar="P",
                   help="probability of erasing a random rectangle of a training image (default: %(default)s)")
    g.add_argument("--preprocessing", default=d.preprocessing, metavar="builtin|MODEL",
                   help="builtin: the model's standard preprocessing; or a model name whose "
                        "preprocessing to train with (infer.py --eval-preprocessing like-train "
                        "repeats it) (default: %(default)s)")


def build_train_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Train a classification model on one backend under power monitoring and "
                               "write a run folder with the per-epoch history and the trained model.",
        epilog=TRAIN_EXAMPLES + RUN_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="NAME",
                        help="case-insensitive: the 2022 names (ResNet50, MobileNetV3Small, ...) or the "
                             "framework's own (resnet18, mobilenet_v3_small, ConvNeXtTiny)")
    _recipe_arguments(parser, TrainOptions())
    add_run_arguments(parser, "train")
    return parser


def log_to_mlflow(run_dir: Path, uri: str, rate_against: str | None = None) -> int:
    """Log a finished run folder to MLflow (``uri`` "" = the default local ./mlruns store), rated
    together with the merged logs of ``rate_against``; the exit code: 0, or 1 with the reason on
    stderr (the run folder is kept either way). Ratings that cannot be logged are said in one line."""
    against = Path(rate_against) if rate_against else None
    try:
        from mlel.apps.tracking import log_record, tracked_run  # here: mlflow matters only when asked for
        record = tracked_run(run_dir, against)
        run_id = log_record(record, run_dir, uri or None)
    except ImportError as exc:
        print(f"--mlflow: MLflow logging is not available ({exc}); the run folder is kept: {run_dir}",
              file=sys.stderr)
        return EXIT_FAILED
    except MleeError as exc:
        print(f"--mlflow: {exc}; the run folder is kept: {run_dir}", file=sys.stderr)
        return EXIT_FAILED
    rated = f", compound rating {record.summary['compound']}" if record.not_rated is None else ""
    print(f"logged to MLflow ({uri or './mlruns'}): run {run_id}{rated}", flush=True)
    if record.not_rated is not None:
        how = f"rated with {against}" if against else "rated alone (no --rate-against DIR)"
        print(f"--mlflow: ratings not logged: {how}: {record.not_rated}", flush=True)
    return EXIT_OK


def _check_rate_against(parser, args) -> None:
    """--rate-against is checked before the run: a typo must not cost the experiment's time."""
    if args.rate_against is None:
        return
    if args.mlflow is None:
        parser.error("--rate-against DIR rates the run for MLflow: give --mlflow [URI] too")
    if not Path(args.rate_against).is_dir():
        parser.error(f"--rate-against {args.rate_against}: not a directory (give a folder of merged logs, "
                     "e.g. results)")


def cli_main(parser, options_cls, runner, argv=None) -> int:
    """Parse, run, log to MLflow if asked, and map the outcome to an exit code (2: bad options,
    like argparse; a MleeError's own code for other errors before the run starts)."""
    args = parser.parse_args(argv)
    _check_rate_against(parser, args)
    names = {f.name for f in dataclasses.fields(options_cls)}
    opts = options_cls(**{k: v for k, v in vars(args).items() if k in names})
    try:
        results = run_repeated(runner, opts)
    except MleeError as exc:
        if exc.exit_code == EXIT_USAGE:
            parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    code = results[-1].exit_code
    if code == EXIT_OK and args.mlflow is not None:
        logged = [log_to_mlflow(result.run_dir, args.mlflow, args.rate_against) for result in results]
        return max(logged)
    return code


def infer_main(argv=None, prog: str | None = None) -> int:
    return cli_main(build_infer_parser(prog), InferOptions, run_inference, argv)


def train_main(argv=None, prog: str | None = None) -> int:
    return cli_main(build_train_parser(prog), TrainOptions, run_training, argv)


def infer_console() -> None:
    """Console entry point (``mlee-infer``, ``python -m mlel.infer``, ``infer.py``)."""
    exit_process(infer_main(prog=invoked_as("mlee-infer")))


def train_console() -> None:
    """Console entry point (``mlee-train``, ``python -m mlel.train``, ``train.py``)."""
    exit_process(train_main(prog=invoked_as("mlee-train")))
