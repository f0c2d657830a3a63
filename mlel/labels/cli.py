"""``python -m mlel.label_generator``: draw the energy label of one merged log (SPEC §7).

The log is rated within its directory (the index needs the reference model's run in the same
environment), then its label is written as PDF and/or PNG. Instead of a file, a model can be chosen
as in 2022: ``-d results -t inference -m ResNet50 -e "A100 x8 - TensorFlow 2.8.0"``; with neither,
the first log in ``results/`` is labelled. Outputs never destroy: an input log, a directory, a
device or a symbolic link is refused as ``-o``/``--png``, and a failed write leaves nothing behind.
"""
from __future__ import annotations

import argparse
import difflib
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from mlel.base.errors import (EXIT_CODES_EPILOG, EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_USAGE, MleeError,
                         UsageError)
from mlel.base.io import write_atomic
from mlel.labels import EnergyLabel
from mlel.labels.inputs import load_with, provenance_of, read_named
from mlel.runlog.logs import iter_log_files
from mlel.runlog.metrics import TASKS
from mlel.base.names import file_safe_name, normalise_model_name
from mlel.tasks.properties import builtin_tasks, read_property_set
from mlel.ratings import COMPOUND_MODES, DEFAULT_MODE, DEFAULT_REFERENCE, RatingOptions, rate_entries
from mlel.results import ResultRecord
from mlel.ratings.settings import load_boundaries, load_weights

EXIT_NOT_FOUND = EXIT_FAILED
DEFAULT_DIRECTORY = "results"  # as the 2022 tool
DEFAULT_TASK = "inference"
MAX_STEM_CHARS = 120  # a default output name from a model name: far below any file system's limit
NO_RESULTS_HINT = ("get some with `make demo`, or measure one: `python infer.py --model ResNet50 "
                   "--backend torch`, then `python merge_results.py --directory runs --output-dir "
                   "results`; or name a log with -f FILE")


class LabelError(MleeError):
    """A problem to report in one line, with the exit code it ends with (default 1)."""

    def __init__(self, message: str, code: int = EXIT_NOT_FOUND):
        super().__init__(message, code)
        self.code = code


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
    rating.add_argument("-r", "--reference", default=None,
                        help=f"reference model of the index scale (default: {DEFAULT_REFERENCE}; for a "
                             "task where it did not run, the best model per environment)")
    rating.add_argument("--scale", choices=("reference", "best"), default=None,
                        help="index against the reference model or the best model per environment "
                             "(default: reference, see -r)")
    rating.add_argument("--properties", metavar="FILE",
                        help="property set of a task without a built-in one (default: none)")
    rating.add_argument("--boundaries", metavar="FILE",
                        help="JSON {metric: [b0, b1, b2, b3]} (default: the 2022 study's)")
    rating.add_argument("--weights", metavar="FILE", help="JSON {metric: weight} or {task: {metric: "
                                                          "weight}} (default: 1 for the label's four)")
    rating.add_argument("--mode", choices=COMPOUND_MODES, default=DEFAULT_MODE, metavar="MODE",
                        help=f"compound rating mode: {', '.join(COMPOUND_MODES)} (default: {DEFAULT_MODE})")
    return parser


def _close(word: str, candidates: list[str]) -> str:
    """ "; did you mean: a, b" from the closest candidates, else the full list when short."""
    by_key = {c.lower(): c for c in candidates}
    close = [by_key[c] for c in difflib.get_close_matches(word.lower(), list(by_key), n=5, cutoff=0.5)]
    if close:
        return f"; did you mean: {', '.join(close)}"
    if candidates and len(candidates) <= 12:
        return f"; available: {', '.join(sorted(candidates))}"
    return ""


def _pick_model(rated: list[dict], task: str, model: str) -> list[dict]:
    of_task = [s for s in rated if s["task"] == task]
    found = [s for s in of_task if s.get("entry") == model] or [s for s in of_task if s["model"] == model]
    if not found:  # "resnet-50" finds ResNet50
        wanted = normalise_model_name(model)
        found = [s for s in of_task if normalise_model_name(s["model"]) == wanted]
    if not found:
        names = sorted({s["model"] for s in of_task})
        raise LabelError(f"model '{model}' has no rated {task} results{_close(model, names)}")
    return found


def _pick_environment(found: list[dict], environment: str | None) -> dict:
    environments = [s["environment"] for s in found]
    if environment is None:
        if len(found) == 1:
            return found[0]
        raise LabelError(f"'{found[0]['model']}' ran in {len(found)} environments; choose one with "
                         f"-e/--environment: {'; '.join(sorted(environments))}", EXIT_USAGE)
    for match in (lambda e: e == environment, lambda e: e.lower() == environment.lower(),
                  lambda e: environment.lower() in e.lower()):
        hits = [s for s in found if match(s["environment"])]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise LabelError(f"environment '{environment}' matches several: "
                             f"{'; '.join(sorted(s['environment'] for s in hits))}", EXIT_USAGE)
    raise LabelError(f"'{found[0]['model']}' has no results in environment '{environment}'"
                     f"{_close(environment, environments)}")


def _options(args, scale: str | None = None) -> RatingOptions:
    property_sets = None
    if args.properties:
        own = read_property_set(args.properties)
        property_sets = {**builtin_tasks(), own.task: own}
    return RatingOptions(reference=args.reference or DEFAULT_REFERENCE, mode=args.mode,
                         scale=scale or args.scale or "reference", property_sets=property_sets,
                         boundaries=load_boundaries(args.boundaries) if args.boundaries else None,
                         weights=load_weights(args.weights) if args.weights else None)


def _reason(error: Exception) -> str:
    """An exception in one line; its type where the message alone says little."""
    return str(error) if isinstance(error, (OSError, ValueError)) else f"{type(error).__name__}: {error}"


def _read_named_log(path: Path):
    try:
        return read_named(path)
    except Exception as error:  # noqa: BLE001 - any reader failure on a named file: say so, exit 2
        reason = _reason(error)
        if "not valid JSON" not in reason and "not a merged log" not in reason:
            reason = f"not a merged log or result record ({reason})"
        raise LabelError(f"cannot label {path}: {reason}", EXIT_USAGE) from None


def _resolve_file(args) -> Path | None:
    """-f as a path or, as in 2022, as a name inside -d."""
    if not args.file:
        return None
    path = Path(args.file)
    if not path.is_file() and args.directory and (Path(args.directory) / path).is_file():
        path = Path(args.directory) / path
    if not path.is_file():
        raise LabelError(f"no such file: {path}", EXIT_USAGE)
    return path


def _first_log(directory: Path) -> Path:
    """The default without -f or -m: the first readable merged log of the directory, by name."""
    if not directory.is_dir():
        raise LabelError(f"nothing to label: no directory '{directory}' of merged logs; {NO_RESULTS_HINT}")
    for path in iter_log_files(directory):
        try:
            read_named(path)
        except Exception:  # noqa: BLE001 - not a readable merged log: look further
            continue
        return path
    raise LabelError(f"nothing to label: no merged logs in '{directory}'; {NO_RESULTS_HINT}")


def _load_directory(directory: Path, named: bool, run, path: Path | None, options: RatingOptions):
    """(entries to rate, every file of the directory: the inputs an output must not replace)."""
    try:
        loaded = load_with(directory, run, path, options.property_sets)
    except (FileNotFoundError, NotADirectoryError) as error:
        if named:
            raise LabelError(str(error), EXIT_USAGE) from None
        raise LabelError(f"{error}; {NO_RESULTS_HINT}") from None
    except MleeError:
        raise
    except Exception as error:  # noqa: BLE001 - a log the reader does not survive: no traceback
        raise LabelError(f"cannot read the logs in {directory}: {_reason(error)}") from None
    problems = loaded.problems
    for problem in problems[:10]:
        print(f"note: skipped {problem}", file=sys.stderr)
    if len(problems) > 10:
        print(f"note: ... and {len(problems) - 10} more file(s) in {directory} skipped", file=sys.stderr)
    return loaded.entries, list(iter_log_files(directory))


def _summary_of_run(rated: list[dict], run, path: Path) -> dict:
    """The summary rated from the named file: a merged log's (task, environment, model), or the
    entry a result record joined."""
    if isinstance(run, ResultRecord):
        found = [s for s in rated if path.name in s["logs"] and s["task"] == run.task]
    else:
        found = [s for s in rated if run.file in s["logs"] and s["task"] == run.task
                 and s["model"] == run.model and s["environment"] == run.environment]
    if not found:  # pragma: no cover - every readable log is rated
        raise LabelError(f"{path.name} was not rated")
    return found[0]


def _reference_present(rated: list[dict], summary: dict, reference: str) -> list[str] | None:
    """None where the reference ran beside the summary; else the models that did."""
    peers = sorted({s["model"] for s in rated
                    if s["task"] == summary["task"] and s["environment"] == summary["environment"]})
    return None if reference in peers else peers


def _check_reference(rated: list[dict], summary: dict, reference: str) -> None:
    peers = _reference_present(rated, summary, reference)
    if peers is not None:  # every index would be missing: a label of E's misleads
        raise LabelError(f"reference model '{reference}' has no {summary['task']} results in "
                         f"'{summary['environment']}', so nothing can be indexed; choose --reference "
                         f"from: {', '.join(peers[:20])}{' ...' if len(peers) > 20 else ''}")


@dataclass(frozen=True)
class Selection:
    summary: dict  # the rated summary to label
    warnings: list[str]  # the rating's warnings that concern it
    inputs: list[Path]  # every log read: no output may replace one
    log: Path | None  # the log named (-f) or found (no arguments); None for -m


def _rate(entries, options: RatingOptions) -> tuple[list[dict], list[str]]:
    records, warnings = rate_entries(entries, options)
    return [record.to_dict() for record in records], warnings


def _pick(rated: list[dict], run, path: Path | None, args) -> dict:
    if run is not None:
        return _summary_of_run(rated, run, path)
    return _pick_environment(_pick_model(rated, args.task or DEFAULT_TASK, args.model), args.environment)


def select_summary(args) -> Selection:
    """Rate the directory and find the summary to label. A task beyond the 2022 ones where the
    default reference did not run (no -r, no --scale) is indexed against the best model."""
    if args.file and args.model:
        raise LabelError("give either -f FILE or -m MODEL (with -d DIR), not both", EXIT_USAGE)
    options = _options(args)
    path = _resolve_file(args)
    if path is None and not args.model:
        path = _first_log(Path(args.directory or DEFAULT_DIRECTORY))
        print(f"note: no -f or -m given: labelling the first log in {path.parent}: {path.name}",
              file=sys.stderr)
    run = _read_named_log(path) if path is not None else None
    directory = Path(args.directory) if args.directory else (
        path.parent if path is not None else Path(DEFAULT_DIRECTORY))
    entries, inputs = _load_directory(directory, bool(args.directory), run, path, options)
    if path is not None:
        inputs.append(path)
    rated, warnings = _rate(entries, options)
    summary = _pick(rated, run, path, args)
    if options.scale == "reference" and _reference_present(rated, summary, options.reference) is not None \
            and args.reference is None and args.scale is None and summary["task"] not in TASKS:
        print(f"note: {options.reference} did not run in '{summary['environment']}': indexing against "
              "the best model per environment (choose a model with -r)", file=sys.stderr)
        options = _options(args, "best")
        rated, warnings = _rate(entries, options)
        summary = _pick(rated, run, path, args)
    if options.scale == "reference":
        _check_reference(rated, summary, options.reference)
    provenance = provenance_of(summary, [directory] + ([path.parent] if path is not None else []))
    if provenance is not None:
        summary = {**summary, "provenance": provenance}
    relevant = [w for w in warnings if f"'{summary['environment']}'" in w and f" {summary['task']} " in w]
    return Selection(summary, relevant, inputs, path)


def output_paths(args, selection: Selection) -> list[tuple[str, Path]]:
    """[("pdf" | "png", path)] to write: -o (or a default name when no --png) and --png."""
    outputs, summary = [], selection.summary
    if args.output or not args.png:
        stem = selection.log.stem if selection.log is not None else (
            f"{summary['model']}_{summary['task']}_{summary['environment']}")
        outputs.append(("pdf", Path(args.output or f"{file_safe_name(stem, 'label', limit=MAX_STEM_CHARS)}_label.pdf")))
    if args.png:
        outputs.append(("png", Path(args.png)))
    return outputs


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def check_output(path: Path, inputs: list[Path]) -> None:
    """Refuse (exit 2) an output that would destroy something: a symbolic link (replacing it would
    drop the link; writing through it, a file not named), a directory, a device or other non-regular
    file, or an input log (the same file, also by a hard link)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise LabelError(f"cannot write {path}: {error.strerror or error}") from None
    if stat.S_ISLNK(info.st_mode):
        raise UsageError(f"{path} is a symbolic link (to {os.readlink(path)}); not replacing it: "
                         "name the file itself to write there")
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path} is a directory; name a file, e.g. {path / 'label.pdf'}")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path} is not a regular file (a device, pipe or socket); not writing a label over it")
    if (info.st_dev, info.st_ino) in {_identity(p) for p in inputs}:
        raise UsageError(f"{path} is an input log; not overwriting it with a label: name another file")


def check_outputs(outputs: list[tuple[str, Path]], inputs: list[Path]) -> None:
    for _, path in outputs:
        check_output(path, inputs)
    if len(outputs) == 2 and os.path.abspath(outputs[0][1]) == os.path.abspath(outputs[1][1]):
        raise UsageError(f"-o and --png name the same file: {outputs[0][1]}")


def _write(path: Path, data: bytes) -> None:
    """Atomically (mlel.base.io): an interrupted or failed write leaves neither half a label nor a temp file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LabelError(f"cannot write {path}: {error.strerror or error}") from None
    write_atomic(path, data)


def _own_set(args, task: str):
    """The user's property set (--properties) where it is the summary's task's."""
    if not args.properties:
        return None
    own = read_property_set(args.properties)
    return own if own.task == task else None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not 0 < args.dpi <= 1200:  # NaN fails this too
            raise LabelError(f"--dpi must be in (0, 1200], got {args.dpi:g}", EXIT_USAGE)
        selection = select_summary(args)
        summary = selection.summary
        outputs = output_paths(args, selection)
        check_outputs(outputs, selection.inputs)
        for warning in selection.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        label = EnergyLabel({**summary, "mode": args.mode}, property_set=_own_set(args, summary["task"]))
        for kind, path in outputs:
            _write(path, label.to_pdf() if kind == "pdf" else label.to_png(args.dpi))
            print(f"wrote {path}")
    except MleeError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted: no label written", file=sys.stderr)
        return EXIT_SIGINT
    grade = (f"compound rating {summary['compound']}" if summary.get("compound")
             else f"not graded: {summary.get('not_graded') or 'failed a validity check'}")
    print(f"{summary.get('entry') or summary['model']} ({summary['task']}, {summary['environment']}): {grade}",
          file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
