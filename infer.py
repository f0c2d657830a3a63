#!/usr/bin/env python
"""Measure a model's inference under power monitoring -> one run folder (see --help)."""
import argparse

from mlel.experiment import InferOptions, add_run_arguments, cli_main, exit_process, run_inference

EXAMPLES = """\
examples:
  python infer.py --model resnet50 --backend torch          # synthetic data, random weights, 5 batches
  python infer.py --model MobileNetV3Small --backend onnx_torch --dataset digits
  python infer.py --model ResNet50 --backend tensorflow --weights pretrained \\
                  --data-path /data/imagenet/val           # ImageNet accuracy, if the weights are cached
  python infer.py --infer-model runs/train_2024_01_01_12_00_00   # a model that train.py trained

The run folder (--output-dir/infer_<timestamp>) holds config.json, execution_platform.json,
requirements.txt, logfile.txt, validation_monitoring_*.json, validation_energy.json and
validation_results.json (start, end, metrics: accuracy, top_5_accuracy, loss, n_samples; model:
params, flops per sample, fsize). Merge it with merge_results.py.

exit codes: 0 done, 1 failed (folder marked incomplete), 2 bad options, 130 Ctrl-C, 143 SIGTERM
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Run a classification model's inference on one backend under power monitoring "
                    "(GPU via NVML, CPU via RAPL or an estimate) and write a run folder.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--infer-model", "--model", dest="infer_model", required=True, metavar="NAME|DIR",
                        help="a model name, case-insensitive: the 2022 names (ResNet50, EfficientNetB0, "
                             "MobileNetV3Small, DenseNet121, VGG16, ...) or the framework's own "
                             "(resnet50, mobilenet_v3_small, ConvNeXtTiny); or a train.py run folder")
    parser.add_argument("--eval-preprocessing", default="builtin", metavar="builtin|like-train|MODEL",
                        help="builtin: the model's standard preprocessing (default); like-train: as the "
                             "training run did (the same here); or a model name whose preprocessing to use")
    parser.add_argument("--warmup", type=int, default=1, metavar="N",
                        help="batches run before the measurement starts (default: %(default)s)")
    add_run_arguments(parser, "infer")
    return parser


def main(argv=None) -> int:
    return cli_main(build_parser(), InferOptions, run_inference, argv)


if __name__ == "__main__":
    exit_process(main())
