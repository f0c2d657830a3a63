#!/usr/bin/env python
"""Train a model under power monitoring -> one run folder with the trained model (see --help)."""
import argparse

from mlel.experiment import TrainOptions, add_run_arguments, cli_main, exit_process, run_training

EXAMPLES = """\
examples:
  python train.py --model resnet18 --backend torch                  # digits (32px), 3 epochs, on CPU
  python train.py --model MobileNetV3Small --backend tensorflow --epochs 3 --opt adam --lr 0.001
  python train.py --model ResNet50 --data-path /data/imagenet --epochs 90 --full-epochs 90
then measure the trained model's inference (also as an ONNX export):
  python infer.py --infer-model runs/train_<timestamp> [--backend onnx_torch]

The run folder (--output-dir/train_<timestamp>) holds config.json, execution_platform.json,
requirements.txt, logfile.txt, monitoring_*.json, energy.json, results.json (start, end, history per
epoch: loss, accuracy, top_5_accuracy, val_*, lr, timestamp; model: params, flops, fsize) and the
trained model (model.pth or model.weights.h5).

exit codes: 0 done, 1 failed (folder marked incomplete), 2 bad options, 130 Ctrl-C, 143 SIGTERM
"""


def _bn_momentum(text: str) -> float | None:
    if text.lower() == "model":
        return None
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1] or 'model', got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    d = TrainOptions()
    parser = argparse.ArgumentParser(
        description="Train a classification model on one backend under power monitoring and write "
                    "a run folder with the per-epoch history and the trained model.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="NAME",
                        help="case-insensitive: the 2022 names (ResNet50, MobileNetV3Small, ...) or the "
                             "framework's own (resnet18, mobilenet_v3_small, ConvNeXtTiny)")
    g = parser.add_argument_group("training recipe")
    g.add_argument("--epochs", type=int, default=d.epochs, help="default: %(default)s")
    g.add_argument("--opt", type=str.lower, choices=("sgd", "adam", "rmsprop"), default=d.opt)
    g.add_argument("--lr", type=float, default=d.lr, help="initial learning rate (default: %(default)s)")
    g.add_argument("--momentum", type=float, default=d.momentum, help="sgd and rmsprop (default: %(default)s)")
    g.add_argument("--wd", "--weight-decay", dest="weight_decay", type=float, default=d.weight_decay,
                   help="default: %(default)s")
    g.add_argument("--bn-momentum", type=_bn_momentum, default=d.bn_momentum, metavar="F|model",
                   help="share of each batch in BatchNorm's running statistics (PyTorch's convention; "
                        "Keras's momentum is 1 - F), set alike in every framework and model so that a short "
                        "training evaluates on statistics of its trained weights; 'model': each model's own "
                        "(torchvision's MobileNetV3 0.01, Keras 0.01) (default: %(default)s)")
    g.add_argument("--lr-scheduler", type=str.lower, choices=("steplr", "cosine"), default=d.lr_scheduler)
    g.add_argument("--lr-step-size", type=int, default=d.lr_step_size,
                   help="steplr: decay every N epochs (default: %(default)s)")
    g.add_argument("--lr-gamma", type=float, default=d.lr_gamma, help="steplr: factor (default: %(default)s)")
    g.add_argument("--early-patience", type=int, default=d.early_patience,
                   help="stop after N epochs without val_loss improving by --early-delta (default: %(default)s)")
    g.add_argument("--early-delta", type=float, default=d.early_delta, help="default: %(default)s")
    g.add_argument("--full-epochs", type=int, default=None, metavar="N",
                   help="epochs of the model's full training, for the full-training energy and time "
                        "(default: --epochs, since this run's recipe is what it trained)")
    add_run_arguments(parser, "train")
    return parser


def main(argv=None) -> int:
    return cli_main(build_parser(), TrainOptions, run_training, argv)


if __name__ == "__main__":
    exit_process(main())
