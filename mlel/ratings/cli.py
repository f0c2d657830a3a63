"""``python -m mlel.ratings``: rate a directory of merged logs (SPEC §7)."""
from __future__ import annotations

import argparse
import os
import textwrap
import sys
from typing import NoReturn, Sequence

from mlel.base.errors import EXIT_CODES_EPILOG, EXIT_FAILED, EXIT_OK, MleeError, UsageError
from mlel.base.io import dumps
from mlel.tasks.properties import PropertySet, builtin_tasks, read_property_set
from mlel.ratings import COMPOUND_MODES, DEFAULT_SCHEME, SCALES, RatingOptions, builtin_schemes, load_scheme
from mlel.ratings.report import RatingReport, format_table, rate_directories
from mlel.ratings.settings import load_boundaries, load_weights
from mlel.runlog.logs import Problem

EXIT_NOTHING_RATED = EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlel.ratings",
        description=textwrap.fill("Rate every model in a directory of merged logs A–E: each metric is indexed "
                    "against a reference model of the same task and environment, rated by "
                    "boundaries on that index, and compounded by weights — or by another rating "
                    "scheme (--scheme). Runs of one configuration "
                    "pool into one entry (n_runs); with several runs the rating shown is the most "
                    "likely letter, with its probability (table: 'B (87%)'; JSON: rating_p, "
                    "compound_p, and each value's 95% interval ci95). One run: no interval. A run "
                    "whose measurement cannot carry a grade (window < 1 s, too few power samples, "
                    "a monitoring gap, warm-up measured) is shown 'not graded: <reason>'. Under the "
                    f"default scheme ({DEFAULT_SCHEME}) there is no letter without evidence: a metric "
                    "without a value, an entry whose environment lacks the reference and a lone model "
                    "are 'not rated: <reason>' (never E); --scheme mlee-2022 rates them E, as in 2022.", 100),
        epilog="Example: python -m mlel.ratings --directory ../shared/reference/mlee-2022/results "
               "--task inference --json > rated.json\n"
               "Schemes:\n" + "\n".join(textwrap.fill(f"{name}: {scheme.description}", 100, initial_indent="  ",
                                                     subsequent_indent="    ")
                                       for name, scheme in builtin_schemes().items()) + "\n"
               "DIR may hold merged logs and generic result records (mlee-result/1, e.g. from "
               "python -m mlel.importers); each task is rated by its property set.\n"
               "Files that are neither are reported on stderr and skipped; "
               "the exit code is 1 only when nothing could be rated.\n" + EXIT_CODES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--directory", "-d", default="results", help="directory of merged logs (default: results)")
    add_rating_arguments(parser)
    parser.add_argument("--task", metavar="TASK",
                        help="rate only this task (inference, training, or the task of imported records)")
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    parser.add_argument("--stability", action="store_true",
                        help="instead of the ratings: how stable the grades are between repeated runs "
                             "(each run of the multi-run entries rated on its own; how many letters "
                             "differ between them)")
    parser.add_argument("--wide", action="store_true",
                        help="table: every metric (default: the label's metrics, fitting 120 columns)")
    return parser


def add_rating_arguments(parser: argparse.ArgumentParser) -> None:
    """The rating options (--scheme, --reference, --scale, --boundaries, --calibrate, --weights, --mode,
    --properties): every command that rates (ratings, export, publish) takes them alike; turn them
    into RatingOptions with :func:`rating_options`."""
    parser.add_argument("--scheme", metavar="NAME|FILE", default=None,
                        help=f"rating scheme: {', '.join(builtin_schemes())} or a scheme JSON file "
                             f"(default: each task's own; else {DEFAULT_SCHEME})")
    parser.add_argument("--reference", default=None,
                        help="reference model of the index scale (default: the task's, e.g. ResNet101 for "
                             "ImageNet; a task without one is indexed against the best of each environment); "
                             "one that has no results in DIR is a usage error")
    parser.add_argument("--scale", choices=SCALES, default=None,
                        help="override the scheme's scale: the reference model (2022), the best model of each "
                             "environment (STREP; boundaries then default to calibrated ones) or the raw value")
    parser.add_argument("--boundaries", metavar="FILE", help="JSON {metric: [b0, b1, b2, b3]} on the index scale")
    parser.add_argument("--calibrate", action="store_true",
                        help="boundaries from the quantiles 0.8/0.6/0.4/0.2 of the rated models' indices")
    parser.add_argument("--weights", metavar="FILE", help="JSON {metric: weight} or {task: {metric: weight}}")
    parser.add_argument("--mode", choices=COMPOUND_MODES, default=None, metavar="MODE",
                        help=f"compound rating mode: {', '.join(COMPOUND_MODES)} (default: the scheme's)")
    parser.add_argument("--properties", metavar="FILE", action="append", default=[],
                        help="a property-set JSON file (SPEC §9) replacing the built-in set of its task: "
                             "names, units, directions, default weights and boundaries (repeatable)")


def rating_options(args: argparse.Namespace) -> RatingOptions:
    """The options :func:`add_rating_arguments` added, read: raises UsageError / SettingsError naming a
    scheme, boundaries, weights or property-set file that cannot be used."""
    sets = [read_property_set(path) for path in args.properties]
    return RatingOptions(
        scheme=load_scheme(args.scheme) if args.scheme else None,
        reference=args.reference, scale=args.scale, calibrate=args.calibrate, mode=args.mode,
        boundaries=load_boundaries(args.boundaries, sets) if args.boundaries else None,
        weights=load_weights(args.weights, sets) if args.weights else None,
        property_sets={s.task: s for s in sets} or None)


def task_property_sets(options: RatingOptions) -> dict[str, PropertySet]:
    """Each task's property set as the rating used it: a --properties file's, else the built-in one."""
    return {**builtin_tasks(), **(options.property_sets or {})}


def unknown_reference(options: RatingOptions, report, where: str) -> str | None:
    """A --reference the user named that no entry of the directories ``where`` has: the message, naming
    those that do; None where it is one of them (or not a reference model: --scale best or value)."""
    if options.reference is None or options.scale not in (None, "reference"):
        return None
    models = sorted({record.model for record in report.records})
    if options.reference in models or any(record.name == options.reference for record in report.records):
        return None  # a model, or one entry of a model
    return (f"reference model '{options.reference}' has no results in {where}; models there: "
            f"{', '.join(models) or 'none'}")


def rate_as_told(args: argparse.Namespace, directories: Sequence[str | os.PathLike], task: str | None = None
                 ) -> tuple[RatingOptions, RatingReport]:
    """The directories rated as one by the rating options of ``args`` (:func:`add_rating_arguments`), as
    every command that rates does it. Raises UsageError (exit 2) naming a setting file or directory that
    cannot be used, or a --reference none of the directories has; another MleeError as it comes."""
    try:
        options = rating_options(args)
        report = rate_directories(directories, options, task=task)
    except MleeError:
        raise
    except (FileNotFoundError, NotADirectoryError, ValueError) as error:
        raise UsageError(str(error)) from error
    unknown = unknown_reference(options, report, ", ".join(map(str, directories)))
    if unknown:
        raise UsageError(unknown)
    return options, report


def skipped_files(report, directories: Sequence[str | os.PathLike]) -> list[Problem]:
    """The files a rating of several directories skipped, each named with its directory (the report of
    one directory names them by file alone, as ``python -m mlel.ratings`` prints them)."""
    if len(directories) != 1:
        return list(report.problems)
    return [Problem(os.path.join(directories[0], problem.file), problem.reason) for problem in report.problems]


def _report_inputs(args, options: RatingOptions, report) -> None:
    """stderr: skipped files, invalid values and not graded entries (each naming its file), warnings,
    and which boundaries came from the file."""
    for problem in report.problems:
        print(f"skipped {problem}", file=sys.stderr)
    for record in report.records:
        for problem in record.entry.problems:
            print(f"invalid value: {problem}", file=sys.stderr)
        if not record.graded:
            print(f"not graded: {record.name} ({record.environment}; {', '.join(record.logs)}): "
                  f"{record.entry.not_graded}", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if options.boundaries:
        print(f"boundaries from {args.boundaries}: {', '.join(options.boundaries)}; every other metric: "
              "its default boundaries", file=sys.stderr)


def _print_stability(args, options: RatingOptions, report) -> int:
    from mlel.ratings.stability import grade_stability
    stability = grade_stability([record.entry for record in report.records], options)
    if args.json:
        sys.stdout.buffer.write(dumps(stability.to_dict()))
        return EXIT_OK
    lines = [stability.summary()] + [f"  {f.task}: {f.entry} ({f.environment}) {f.metric}: {' / '.join(f.letters)}"
                                     for f in stability.flips]
    print("\n".join(lines))
    return EXIT_OK


def ratings_main(argv: list[str] | None = None, *, exit_at_once: bool = False) -> int:
    """The command; returns its exit code. ``exit_at_once`` (the ``python -m`` entry only): the
    process ends when the output is written, its rated entries still held (:func:`_exit_at_once`)."""
    args = build_parser().parse_args(argv)
    try:
        options, report = rate_as_told(args, [args.directory], args.task)
    except MleeError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    _report_inputs(args, options, report)
    if args.stability and report.records:
        return _print_stability(args, options, report)
    if args.json:
        sys.stdout.flush()
        _write_json(report.records, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    elif report.records:
        sys.stdout.write(format_table(report.records, options, wide=args.wide))
    if not report.records:
        print(f"error: nothing could be rated in {args.directory} "
              f"({len(report.problems)} file(s) skipped)", file=sys.stderr)
        return EXIT_NOTHING_RATED
    files = sum(len(record.logs) for record in report.records)
    graded = sum(record.graded for record in report.records)
    unrated = sum(record.graded and record.compound is None for record in report.records)
    print(f"rated {graded - unrated} (task, environment, model) from {files} file(s)"
          f"{f', {unrated} not rated' if unrated else ''}"
          f"{f', {len(report.records) - graded} not graded' if graded < len(report.records) else ''}; "
          f"{len(report.problems)} file(s) skipped", file=sys.stderr)
    if exit_at_once:
        _exit_at_once(EXIT_OK)
    return EXIT_OK


def _write_json(records, out, slice_size: int = 1000) -> None:
    """The rated summaries as one compact JSON array (orjson: NaN/Infinity -> null on the way out),
    the same bytes as one ``dumps`` of them all, written a slice at a time: the dicts of 100,000
    summaries and their bytes, held at once, were about 0.5 GB."""
    out.write(b"[")
    for start in range(0, len(records), slice_size):
        if start:
            out.write(b",")
        out.write(dumps([record.to_dict() for record in records[start:start + slice_size]], indent=False)[1:-1])
    out.write(b"]")


def _exit_at_once(code: int) -> NoReturn:
    """End the process now, its output flushed, without freeing what it built object by object:
    100,000 rated entries took 0.5 s of CPU to free at exit; the OS takes the memory back in one go.
    Nothing it needs runs at exit: its output goes to stdout and stderr, flushed here."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
