"""``python -m mlel.label_generator``: draw the energy label of one merged log (SPEC §7).

The log is rated within its directory (the index needs the reference model's run in the same
environment), then its label is written as PDF and/or PNG. Instead of a file, a model can be chosen
as in 2022: ``-d results --task inference --model ResNet50 --environment "A100 x8 - TensorFlow 2.8.0"``.
"""
from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from pathlib import Path

from mlel.labels import EnergyLabel
from mlel.logs import load_logs, read_log
from mlel.metrics import TASKS, normalise_model_name
from mlel.ratings import COMPOUND_MODES, DEFAULT_MODE, DEFAULT_REFERENCE, RatingOptions, rate_runs
from mlel.settings import SettingsError, load_boundaries, load_weights

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE = 0, 1, 2


class LabelError(Exception):
    """A problem to report in one line, with the exit code it ends with."""

    def __init__(self, message: str, code: int = EXIT_NOT_FOUND):
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlel.label_generator",
        description="Draw the energy label (PDF, PNG) of one merged log, rated within its directory.",
        epilog="Examples:\n"
               "  python -m mlel.label_generator -f results/infer_2022_03_05_23_09_30.json\n"
               "  python -m mlel.label_generator -d results --task inference --model ResNet50 \\\n"
               "      --environment 'A100 x8 - TensorFlow 2.8.0' -o resnet50.pdf --png resnet50.png\n"
               "Exit codes: 0 written, 1 log or model not found or not rated, 2 bad arguments or input.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-f", "--file", help="merged log (results/*.json) to label")
    parser.add_argument("-d", "--directory",
                        help="directory of merged logs to rate against (default: the file's directory)")
    parser.add_argument("-o", "--output", help="PDF to write (default: <log name>_label.pdf, or none "
                                               "when only --png is given)")
    parser.add_argument("--png", help="also (or only) write the label as PNG to this path")
    parser.add_argument("--dpi", type=float, default=150, help="resolution of the PNG (default: 150)")
    selection = parser.add_argument_group("choose a model instead of a file (needs -d)")
    selection.add_argument("--task", choices=TASKS, default=None, help="inference (default) or training")
    selection.add_argument("--model", help="model name, e.g. ResNet50")
    selection.add_argument("--environment",
                           help="environment, e.g. 'A100 x8 - TensorFlow 2.8.0' (may be left out where "
                                "the model ran in one environment only)")
    rating = parser.add_argument_group("rating (as python -m mlel.ratings)")
    rating.add_argument("--reference", default=DEFAULT_REFERENCE,
                        help=f"reference model of the index scale (default: {DEFAULT_REFERENCE})")
    rating.add_argument("--boundaries", metavar="FILE", help="JSON {metric: [b0, b1, b2, b3]}")
    rating.add_argument("--weights", metavar="FILE", help="JSON {metric: weight} or {task: {metric: weight}}")
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
    found = [s for s in of_task if s["model"] == model]
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
                         f"--environment: {'; '.join(sorted(environments))}", EXIT_USAGE)
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


def _options(args) -> RatingOptions:
    return RatingOptions(reference=args.reference, mode=args.mode,
                         boundaries=load_boundaries(args.boundaries) if args.boundaries else None,
                         weights=load_weights(args.weights) if args.weights else None)


def select_summary(args) -> tuple[dict, list[str]]:
    """Rate the directory and find the summary to label -> (summary, warnings for it)."""
    if args.file and args.model:
        raise LabelError("give either -f FILE or --model (with -d DIR), not both", EXIT_USAGE)
    if not args.file and not args.model:
        raise LabelError("nothing to label: give -f FILE, or -d DIR with --model NAME", EXIT_USAGE)
    options = _options(args)
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise LabelError(f"no such file: {path}", EXIT_USAGE)
        try:
            run = read_log(path)
        except (OSError, ValueError) as error:  # LogFormatError is a ValueError
            raise LabelError(f"cannot label {path}: {error}", EXIT_USAGE) from None
        directory = Path(args.directory) if args.directory else path.parent
    else:
        if not args.directory:
            raise LabelError("--model needs -d DIR, the directory of merged logs", EXIT_USAGE)
        directory, run = Path(args.directory), None
    try:
        runs, problems = load_logs(directory)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise LabelError(str(error), EXIT_USAGE) from None
    if run is not None and path.resolve().parent != directory.resolve():
        runs = [r for r in runs if r.file != run.file] + [run]  # a log from elsewhere joins the others
    if problems:
        print(f"note: {len(problems)} file(s) in {directory} skipped (not readable merged logs)",
              file=sys.stderr)
    rated, warnings = rate_runs(runs, options)
    if run is not None:
        found = [s for s in rated if run.file in s["logs"] and s["task"] == run.task
                 and s["model"] == run.model and s["environment"] == run.environment]
        if not found:  # pragma: no cover - every readable log is rated
            raise LabelError(f"{path.name} was not rated")
        summary = found[0]
    else:
        summary = _pick_environment(_pick_model(rated, args.task or "inference", args.model),
                                    args.environment)
    peers = sorted({s["model"] for s in rated
                    if s["task"] == summary["task"] and s["environment"] == summary["environment"]})
    if options.reference not in peers:  # every index would be missing: a label of E's misleads
        raise LabelError(f"reference model '{options.reference}' has no {summary['task']} results in "
                         f"'{summary['environment']}', so nothing can be indexed; choose --reference "
                         f"from: {', '.join(peers)}")
    relevant = [w for w in warnings if f"'{summary['environment']}'" in w and f" {summary['task']} " in w]
    return summary, relevant


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "label"


def _write(path: Path, data: bytes) -> None:
    """Atomically: an interrupted run never leaves half a label behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.dpi <= 0 or args.dpi > 1200:
            raise LabelError(f"--dpi must be in (0, 1200], got {args.dpi:g}", EXIT_USAGE)
        summary, warnings = select_summary(args)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except LabelError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    label = EnergyLabel({**summary, "mode": args.mode})
    if args.output or not args.png:
        stem = Path(args.file).stem if args.file else f"{summary['model']}_{summary['task']}_{summary['environment']}"
        pdf_path = Path(args.output or f"{_safe(stem)}_label.pdf")
    else:
        pdf_path = None
    try:
        if pdf_path is not None:
            _write(pdf_path, label.to_pdf())
            print(f"wrote {pdf_path}")
        if args.png:
            _write(Path(args.png), label.to_png(args.dpi))
            print(f"wrote {args.png}")
    except OSError as error:
        print(f"error: cannot write the label: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{summary['model']} ({summary['task']}, {summary['environment']}): "
          f"compound rating {summary['compound']}", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
