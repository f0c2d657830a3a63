"""``python -m mlel.ratings``: rate a directory of merged logs (SPEC §7)."""
from __future__ import annotations

import argparse
import sys

from mlel.errors import EXIT_CODES_EPILOG, EXIT_FAILED, EXIT_OK, EXIT_USAGE, MleeError
from mlel.io import dumps
from mlel.properties import read_property_set
from mlel.ratings import COMPOUND_MODES, DEFAULT_MODE, DEFAULT_REFERENCE, SCALES, RatingOptions
from mlel.report import format_table, rate_directory
from mlel.settings import SettingsError, load_boundaries, load_weights

EXIT_NOTHING_RATED = EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlel.ratings",
        description="Rate every model in a directory of merged logs A–E: each metric is indexed "
                    "against a reference model of the same task and environment, rated by "
                    "boundaries on that index, and compounded by weights.",
        epilog="Example: python -m mlel.ratings --directory ../shared/reference/mlee-2022/results "
               "--task inference --json > rated.json\n"
               "DIR may hold merged logs and generic result records (mlee-result/1, e.g. from "
               "python -m mlel.importers); each task is rated by its property set.\n"
               "Files that are neither are reported on stderr and skipped; "
               "the exit code is 1 only when nothing could be rated.\n" + EXIT_CODES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--directory", "-d", default="results", help="directory of merged logs (default: results)")
    parser.add_argument("--reference", default=DEFAULT_REFERENCE,
                        help=f"reference model of the index scale (default: {DEFAULT_REFERENCE})")
    parser.add_argument("--scale", choices=SCALES, default="reference",
                        help="index against the reference model (2022) or the best model of each "
                             "environment (STREP; boundaries then default to calibrated ones)")
    parser.add_argument("--boundaries", metavar="FILE", help="JSON {metric: [b0, b1, b2, b3]} on the index scale")
    parser.add_argument("--calibrate", action="store_true",
                        help="boundaries from the quantiles 0.8/0.6/0.4/0.2 of the rated models' indices")
    parser.add_argument("--weights", metavar="FILE", help="JSON {metric: weight} or {task: {metric: weight}}")
    parser.add_argument("--mode", choices=COMPOUND_MODES, default=DEFAULT_MODE, metavar="MODE",
                        help=f"compound rating mode: {', '.join(COMPOUND_MODES)} (default: {DEFAULT_MODE})")
    parser.add_argument("--properties", metavar="FILE", action="append", default=[],
                        help="a property-set JSON file (SPEC §9) replacing the built-in set of its task: "
                             "names, units, directions, default weights and boundaries (repeatable)")
    parser.add_argument("--task", metavar="TASK",
                        help="rate only this task (inference, training, or the task of imported records)")
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    return parser


def ratings_main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        options = RatingOptions(
            reference=args.reference, scale=args.scale, calibrate=args.calibrate, mode=args.mode,
            boundaries=load_boundaries(args.boundaries) if args.boundaries else None,
            weights=load_weights(args.weights) if args.weights else None,
            property_sets={s.task: s for s in map(read_property_set, args.properties)} or None)
        report = rate_directory(args.directory, options, task=args.task)
    except MleeError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except (SettingsError, FileNotFoundError, NotADirectoryError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    for problem in report.problems:
        print(f"skipped {problem}", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:  # orjson: NaN/Infinity -> null on the way out, no pre-pass over the summaries
        sys.stdout.flush()
        sys.stdout.buffer.write(dumps([record.to_dict() for record in report.records]))
        sys.stdout.buffer.flush()
    elif report.records:
        sys.stdout.write(format_table(report.records, options))
    if not report.records:
        print(f"error: nothing could be rated in {args.directory} "
              f"({len(report.problems)} file(s) skipped)", file=sys.stderr)
        return EXIT_NOTHING_RATED
    files = sum(len(record.logs) for record in report.records)
    print(f"rated {len(report.records)} (task, environment, model) from {files} file(s); "
          f"{len(report.problems)} file(s) skipped", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover - `python -m mlel.ratings` is the documented entry
    sys.exit(ratings_main())
