"""``python -m mlel.label_generator``: draw the energy label of one merged log (SPEC §7).

The log is rated within its directory (the index needs the reference model's run in the same
environment) under its task's scheme or ``--scheme``, then its label is written as PDF and/or PNG. Instead of a file, a model can be chosen
as in 2022: ``-d results -t inference -m ResNet50 -e "A100 x8 - TensorFlow 2.8.0"``; with neither,
the first log in ``results/`` is labelled. Outputs never destroy: an input log, a directory, a
device or a symbolic link is refused as ``-o``/``--png``, and a failed write leaves nothing behind.
"""
from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from mlel.base.errors import EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_USAGE, MleeError, UsageError
from mlel.base.io import write_atomic
from mlel.labels import EnergyLabel
from mlel.labels.arguments import DEFAULT_DIRECTORY, DEFAULT_TASK, build_parser, rating_options
from mlel.labels.inputs import load_with, provenance_of, read_named
from mlel.labels.lookup import EXIT_NOT_FOUND, LabelError, did_you_mean, pick_environment, pick_model
from mlel.runlog.logs import iter_log_files
from mlel.base.names import file_safe_name
from mlel.tasks.properties import read_property_set
from mlel.ratings import RatingOptions, rate_entries
from mlel.results import ResultRecord

__all__ = ["main", "build_parser", "select_summary", "output_paths", "check_output", "check_outputs",
           "LabelError", "EXIT_OK", "EXIT_USAGE", "EXIT_FAILED", "EXIT_NOT_FOUND", "UsageError"]

MAX_STEM_CHARS = 120  # a default output name from a model name: far below any file system's limit
NO_RESULTS_HINT = ("get some with `make demo`, or measure one: `python infer.py --model ResNet50 "
                   "--backend torch`, then `python merge_results.py --directory runs --output-dir "
                   "results`; or name a log with -f FILE")


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


def _check_reference(rated: list[dict], summary: dict, reference: str) -> None:
    """A reference the user named (-r) must have run beside the summary: else nothing is indexed."""
    beside = [s for s in rated if s["task"] == summary["task"] and s["environment"] == summary["environment"]]
    peers = sorted({s["model"] for s in beside})
    if reference not in peers and not any(s.get("entry") == reference for s in beside):  # a model, or an entry
        raise LabelError(f"reference model '{reference}' has no {summary['task']} results in "
                         f"'{summary['environment']}', so nothing can be indexed; choose --reference "
                         f"from: {', '.join(peers[:20])}{' ...' if len(peers) > 20 else ''}"
                         f"{did_you_mean(reference, peers)}")


@dataclass(frozen=True)
class Selection:
    summary: dict  # the rated summary to label
    warnings: list[str]  # the rating's warnings that concern it
    inputs: list[Path]  # every log read: no output may replace one
    log: Path | None  # the log named (-f) or found (no arguments); None for -m


def _rate(entries, options: RatingOptions) -> tuple[list[dict], list[str]]:
    """Summaries with the mode they were compounded by (the label's footer says it)."""
    records, warnings = rate_entries(entries, options)
    return [{**record.to_dict(), "mode": record.mode} for record in records], warnings


def _pick(rated: list[dict], run, path: Path | None, args) -> dict:
    if run is not None:
        return _summary_of_run(rated, run, path)
    return pick_environment(pick_model(rated, args.task or DEFAULT_TASK, args.model), args.environment)


def select_summary(args) -> Selection:
    """Rate the directory (under the task's scheme, or --scheme) and find the summary to label.
    A reference named with -r must have run beside it."""
    if args.file and args.model:
        raise LabelError("give either -f FILE or -m MODEL (with -d DIR), not both", EXIT_USAGE)
    options = rating_options(args)
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
    if args.reference is not None and summary.get("reference") == args.reference:
        _check_reference(rated, summary, args.reference)
    if summary.get("reference") == "best" and args.scale is None:
        print(f"note: {summary['task']} names no reference model: indexed against the best model per "
              "environment (choose a model with -r)", file=sys.stderr)
    if options.scheme is not None and summary.get("scheme") == options.scheme.name:  # --scheme: its title
        summary = {**summary, "scheme_title": options.scheme.title}
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
        label = EnergyLabel(summary, property_set=_own_set(args, summary["task"]))
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
             else f"not rated: {summary.get('not_rated') or 'no reason given'}" if summary.get("graded", True)
             else f"not graded: {summary.get('not_graded') or 'failed a validity check'}")
    print(f"{summary.get('entry') or summary['model']} ({summary['task']}, {summary['environment']}): {grade}",
          file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
