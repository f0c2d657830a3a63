"""The command line of ``python -m mlel.label_generator``: its arguments, and the rating options
they give (as ``python -m mlel.ratings`` reads the same flags)."""
from __future__ import annotations

import argparse

from mlel.base.errors import EXIT_CODES_EPILOG
from mlel.runlog.metrics import TASKS
from mlel.tasks.properties import builtin_tasks, read_property_set
from mlel.ratings import COMPOUND_MODES, DEFAULT_SCHEME, SCALES, RatingOptions, builtin_schemes, load_scheme
from mlel.ratings.settings import load_boundaries, load_weights

DEFAULT_DIRECTORY = "results"  # as the 2022 tool
DEFAULT_TASK = "inference"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlel.label_generator",
        description="Draw the energy label (PDF, PNG) of one merged log or result record (mlee-result/1, "
                    "what python -m mlel.importers writes), rated within its directory. "
                    "With no arguments: the label of the first log in results/.",
        epilog="Examples:\n"
               "  python -m mlel.label_generator -f results/infer_2022_03_05_23_09_30.json\n"
               "  python -m mlel.label_generator -d results -t inference -m ResNet50 \\\n"
               "      -e 'A100 x8 - TensorFlow 2.8.0' -o resnet50.pdf --png resnet50.png\n"
               "  python -m mlel.label_generator -f imported/<record>.json --png llm.png\n"
               "  python -m mlel.label_generator -f results/x.json --scheme mlee-2022\n"
               f"{EXIT_CODES_EPILOG}\n"
               "  1: log or model not found or not rated, or a label could not be written;\n"
               "  2: bad arguments, an input that is no merged log, or an output that would destroy "
               "a file (an input log, a directory, a device, a symbolic link).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-f", "--file", "--filename",
                        help="merged log (results/*.json) or result record to label: a path, or a name inside -d "
                             "(default: none; with no -m either, the first log in -d)")
    parser.add_argument("-d", "--directory",
                        help="directory of merged logs to rate against (default: the file's directory, "
                             f"else {DEFAULT_DIRECTORY})")
    parser.add_argument("-o", "--output", help="PDF to write (default: <log name>_label.pdf in the "
                                               "working directory, or none when only --png is given)")
    parser.add_argument("--png", help="also (or only) write the label as PNG to this path (default: none)")
    parser.add_argument("--dpi", type=float, default=150, help="resolution of the PNG (default: 150)")
    selection = parser.add_argument_group("choose a model instead of a file (as the 2022 tool)")
    selection.add_argument("-t", "--task", default=None,
                           help=f"{' or '.join(TASKS)}, or an imported task such as lm-arena-chat "
                                f"(default: {DEFAULT_TASK})")
    selection.add_argument("-m", "--model", help="model name, e.g. ResNet50 (default: none)")
    selection.add_argument("-e", "--environment",
                           help="environment, e.g. 'A100 x8 - TensorFlow 2.8.0' (default: the only one "
                                "the model ran in; needed where it ran in several)")
    rating = parser.add_argument_group("rating (as python -m mlel.ratings)")
    rating.add_argument("--scheme", metavar="NAME|FILE", default=None,
                        help=f"rating scheme: {', '.join(builtin_schemes())} or a scheme JSON file "
                             f"(default: the task's own; else {DEFAULT_SCHEME})")
    rating.add_argument("-r", "--reference", default=None,
                        help="reference model of the index scale (default: the task's, e.g. ResNet101 for "
                             "ImageNet; a task without one is indexed against the best model per environment)")
    rating.add_argument("--scale", choices=SCALES, default=None,
                        help="override the scheme's scale: the reference model, the best model per "
                             "environment, or the value itself (default: the scheme's)")
    rating.add_argument("--properties", metavar="FILE",
                        help="property set of a task without a built-in one (default: none)")
    rating.add_argument("--boundaries", metavar="FILE",
                        help="JSON {metric: [b0, b1, b2, b3]} (default: the property set's)")
    rating.add_argument("--weights", metavar="FILE", help="JSON {metric: weight} or {task: {metric: "
                                                          "weight}} (default: 1 for the label's four)")
    rating.add_argument("--mode", choices=COMPOUND_MODES, default=None, metavar="MODE",
                        help=f"compound rating mode: {', '.join(COMPOUND_MODES)} (default: the scheme's)")
    return parser


def rating_options(args) -> RatingOptions:
    """The rating options the arguments give; None wherever the scheme decides."""
    property_sets = None
    if args.properties:
        own = read_property_set(args.properties)
        property_sets = {**builtin_tasks(), own.task: own}
    return RatingOptions(scheme=load_scheme(args.scheme) if args.scheme else None, reference=args.reference,
                         mode=args.mode, scale=args.scale, property_sets=property_sets,
                         boundaries=load_boundaries(args.boundaries) if args.boundaries else None,
                         weights=load_weights(args.weights) if args.weights else None)
