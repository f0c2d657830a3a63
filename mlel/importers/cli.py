"""``python -m mlel.importers <kind> SOURCE --output-dir DIR``: turn another tool's measurements into
``mlee-result/1`` records, one file per entry, that ``python -m mlel.ratings --directory DIR`` rates.

Prints what it wrote (counts per task) on stdout, every skipped row (file, row, field, reason) on
stderr. A CSV table (``csv``, or ``mlflow`` given a search_runs CSV) is read and written row by row,
in bounded memory whatever its length, with a progress bar on stderr once it takes more than a few
seconds; it lists the first 1000 skipped rows and counts the rest. Exit 0 when at least one record was
imported, 1 when none could be, 2 for a usage error, 130 on SIGINT and 143 on SIGTERM (one line;
every file is written whole or not at all). A record whose file already holds the same entry from
another source is refused, named on stderr.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlel.base.errors import EXIT_CODES_EPILOG, EXIT_FAILED, EXIT_OK, MleeError, UsageError
from mlel.base.stopping import until_stopped
from mlel.importers.common import PROBLEMS_KEPT, ImportReport, StreamSummary, write_records, write_stream

_DESCRIPTION = ("Turn another tool's measurements into mlee-result/1 records, one JSON file per entry in "
                "--output-dir, that python -m mlel.ratings --directory DIR rates. Skipped rows are listed "
                "on stderr by file, row and field.")
_MAP_HELP = ("PROPERTY=COLUMN[:UNIT] (repeatable): the column holding a property of the task, and the "
             "unit of its values when it differs from the property's (e.g. inference_time=metrics.running_time:s)")


def _add_table_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="column naming the model (e.g. params.model)")
    parser.add_argument("--environment", help="column(s) naming the environment, hardware first: COLUMN[,COLUMN...]")
    parser.add_argument("--task", help="task of the records (a built-in property set, or with --properties)")
    parser.add_argument("--map", action="append", default=[], metavar="PROPERTY=COLUMN[:UNIT]", help=_MAP_HELP)
    parser.add_argument("--mapping", metavar="FILE", help="a JSON mapping file (options given here override it)")
    parser.add_argument("--properties", metavar="FILE", help="your own property set for the task")
    parser.add_argument("--name", metavar="COLUMN", help="column naming the entry (default: the model)")
    parser.add_argument("--dataset", metavar="COLUMN", help="column naming the dataset")
    parser.add_argument("--configuration", metavar="COLUMN[,COLUMN...]", help="columns kept as the configuration")
    parser.add_argument("--source", dest="value_source", choices=("reported", "measured", "estimated", "computed"),
                        help="how the values were obtained (default: reported)")
    parser.add_argument("--include-unfinished", action="store_true",
                        help="import runs whose status is not FINISHED, marked as unfinished")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlel.importers", description=_DESCRIPTION,
                                     epilog=EXIT_CODES_EPILOG)
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    mlenergy = kinds.add_parser("mlenergy", help="ML.ENERGY leaderboard data (tasks/<task>.json, index.json)")
    mlenergy.add_argument("source", metavar="DIR")
    mlenergy.add_argument("--best-under-latency", type=float, metavar="MS",
                          help="keep per model and environment only the lowest-energy configuration whose "
                               "latency (median ITL; diffusion: batch latency) is at most MS")
    codecarbon = kinds.add_parser("codecarbon", help="CodeCarbon emissions.csv")
    codecarbon.add_argument("source", metavar="EMISSIONS_CSV")
    codecarbon.add_argument("--task", default="generic", help="task of the records (default: generic)")
    codecarbon.add_argument("--model", help="model name for every run (default: the project name)")
    codecarbon.add_argument("--samples", type=int, help="samples per run: adds energy and runtime per sample")
    codecarbon.add_argument("--cpu-source", choices=("measured", "estimated"),
                            help="how CodeCarbon got CPU power (the CSV does not say; default: estimated)")
    codecarbon.add_argument("--codecarbon-log", metavar="FILE",
                            help="CodeCarbon's log: its 'CPU Tracking Method' line decides the CPU source")
    aes = kinds.add_parser(
        "aienergyscore", help="Hugging Face AI Energy Score leaderboard tables (one CSV per task)",
        description="Import AI Energy Score leaderboard tables: CSV_OR_DIR is one table or a folder of "
                    "them, one per task, named after it (image_classification.csv, asr.csv, summarization.csv, "
                    "object_detection.csv, text_generation.csv, ...), with columns model,total_gpu_energy"
                    "[,energy_score][,class]. Each row becomes one record on 'H100 - AI Energy Score': GPU "
                    "energy per query (Wh/query) and the published star count, both reported; a model listed "
                    "twice is pooled as two runs of one entry; text generation's size class is kept as the "
                    "configuration. Example: python -m mlel.importers aienergyscore ai-energy-score/ --output-dir "
                    "imported, then python -m mlel.ratings --directory imported --task asr")
    aes.add_argument("source", metavar="CSV_OR_DIR")
    aes.add_argument("--task", help="the AI Energy Score task of every table, for files not named after "
                                    "theirs (e.g. object_detection)")
    for kind, text in (("mlflow", "MLflow runs: an mlruns folder, a tracking URI or a search_runs() CSV"),
                       ("csv", "any CSV table, with --map options or a --mapping file")):
        sub = kinds.add_parser(kind, help=text)
        sub.add_argument("source", metavar="SOURCE")
        _add_table_options(sub)
    for sub in kinds.choices.values():
        sub.add_argument("--output-dir", required=True, metavar="DIR", help="where the records go (a folder)")
        sub.epilog = EXIT_CODES_EPILOG
    return parser


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def _table_mapping(args):
    from mlel.importers.table import ColumnMap, TableMapping, mapping_from_file

    maps = tuple(ColumnMap.parse(m) for m in args.map)
    options = {"task": args.task, "model": args.model, "environment": _split(args.environment),
               "properties": maps, "name": args.name, "dataset": args.dataset,
               "configuration": _split(args.configuration), "source": args.value_source}
    if args.mapping:
        return mapping_from_file(args.mapping, **options)
    missing = [f"--{k}" for k in ("task", "model", "environment") if not options[k]]
    if missing:
        raise UsageError(f"{args.kind}: {', '.join(missing)} required (or a --mapping file)")
    options["source"] = options["source"] or "reported"
    return TableMapping(**options)


def run_import(args) -> ImportReport:
    if args.kind == "mlenergy":
        from mlel.importers.mlenergy import import_mlenergy
        return import_mlenergy(args.source, args.best_under_latency)
    if args.kind == "codecarbon":
        from mlel.importers.codecarbon import import_codecarbon
        return import_codecarbon(args.source, task=args.task, cpu_source=args.cpu_source,
                                 log_file=args.codecarbon_log, model=args.model, samples=args.samples)
    if args.kind == "aienergyscore":
        from mlel.importers.aienergyscore import import_aienergyscore
        return import_aienergyscore(args.source, task=args.task)
    mapping = _table_mapping(args)
    if args.kind == "mlflow":
        from mlel.importers.mlflow_runs import import_mlflow
        return import_mlflow(args.source, mapping, properties_file=args.properties,
                             include_unfinished=args.include_unfinished)
    from mlel.importers.table import import_csv
    return import_csv(args.source, mapping, properties_file=args.properties,
                      include_unfinished=args.include_unfinished)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return until_stopped(lambda: _run(args), lambda how: f"{how}: stopped; files in {args.output_dir} are whole")


def _run(args) -> int:
    if args.kind == "csv" or (args.kind == "mlflow" and Path(args.source).is_file()):
        return _run_streamed(args)
    try:
        report = run_import(args)
        _print_problems(report)
        if not report.records:
            print(f"nothing imported from {args.source}", file=sys.stderr)
            return EXIT_FAILED
        summary = write_records(report.records, args.output_dir)
    except MleeError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    for name in summary.cleaned:
        print(f"note: removed {name}, a temp file an interrupted import left", file=sys.stderr)
    for problem in summary.refused:
        print(f"refused: {problem}", file=sys.stderr)
    counts = ", ".join(f"{task} {n}" for task, n in report.counts_by_task().items())
    refused = f", {len(summary.refused)} refused (entry already imported from another source)" \
        if summary.refused else ""
    print(f"imported {len(report.records)} records ({counts}) into {args.output_dir}: "
          f"{len(summary.written)} written, {len(summary.unchanged)} unchanged{refused}; "
          f"{report.skipped} skipped")
    return EXIT_OK if summary.total else EXIT_FAILED


def _print_problems(report: ImportReport) -> None:
    for problem in report.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    if report.dropped:
        print(f"skipped: {report.dropped} more rows, not listed (the first {len(report.problems)} are)",
              file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)


def _run_streamed(args) -> int:
    """A CSV table (``csv``, or ``mlflow`` given a search_runs CSV), read and written row by row:
    bounded memory for any length, a progress bar on stderr when it takes more than a few seconds."""
    from mlel.importers.mlflow_runs import TOOL as MLFLOW_TOOL
    from mlel.importers.table import stream_csv

    report, summary = ImportReport(problem_limit=PROBLEMS_KEPT), StreamSummary()
    try:
        with _ProgressBar() as bar:
            records = stream_csv(args.source, _table_mapping(args), report, properties_file=args.properties,
                                 include_unfinished=args.include_unfinished,
                                 tool=MLFLOW_TOOL if args.kind == "mlflow" else "CSV", progress=bar.update)
            write_stream(records, args.output_dir, summary)
    except MleeError as error:
        _print_problems(report)
        print(f"error: {error}", file=sys.stderr)
        if summary.records:
            print(f"note: the {summary.records} records before it were written into {args.output_dir} "
                  "(each file whole; a re-import leaves them unchanged)", file=sys.stderr)
        return error.exit_code
    _print_problems(report)
    if not summary.records:
        print(f"nothing imported from {args.source}", file=sys.stderr)
        return EXIT_FAILED
    for name in summary.cleaned:
        print(f"note: removed {name}, a temp file an interrupted import left", file=sys.stderr)
    for problem in summary.refused:
        print(f"refused: {problem}", file=sys.stderr)
    if summary.refused_count > len(summary.refused):
        print(f"refused: {summary.refused_count - len(summary.refused)} more records, not listed", file=sys.stderr)
    counts = ", ".join(f"{task} {n}" for task, n in sorted(summary.by_task.items()))
    refused = f", {summary.refused_count} refused (entry already imported from another source)" \
        if summary.refused_count else ""
    print(f"imported {summary.records} records ({counts}) into {args.output_dir}: "
          f"{summary.written} written, {summary.unchanged} unchanged{refused}; {report.skipped} skipped")
    return EXIT_OK if summary.total else EXIT_FAILED


class _ProgressBar:
    """A progress bar on stderr (tqdm, as the experiments' bars) in bytes of the file read, shown
    only once an import has taken more than a few seconds."""

    DELAY_S = 3.0

    def __init__(self):
        self._bar = None

    def update(self, done: int, size: int) -> None:
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=size, desc="importing", unit="B", unit_scale=True, dynamic_ncols=True,
                             mininterval=0.5, delay=self.DELAY_S, file=sys.stderr)
        self._bar.update(done - self._bar.n)

    def __enter__(self) -> "_ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
