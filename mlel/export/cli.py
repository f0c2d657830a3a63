"""``python -m mlel.export`` (and ``mlee-export``): the rated entries of results directories in the
formats other tools read — one BoAmps report per entry, or one flat CSV/Parquet table."""
from __future__ import annotations

import argparse
import sys
import textwrap
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from mlel.base.errors import EXIT_CODES_EPILOG, EXIT_FAILED, EXIT_OK, EXIT_USAGE, MleeError, OutputError, UsageError
from mlel.base.io import dumps, write_atomic
from mlel.base.stopping import until_stopped
from mlel.base.filenames import unique_stems
from mlel.export.boamps import boamps_report
from mlel.export.energy import energy_figure, no_energy_reason
from mlel.export.inputs import ExportEntry, export_entries, origin
from mlel.export.table import MissingParquet, build_table, csv_bytes, parquet_bytes
from mlel.ratings import RatingOptions
from mlel.ratings.cli import add_rating_arguments, rate_as_told, skipped_files, task_property_sets

TABLE_FORMATS = {".csv": csv_bytes, ".parquet": parquet_bytes}
PROGRESS_AFTER_S = 2.0  # a bar only once an export takes this long


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlel.export",
        description=textwrap.fill(
            "Export the rated entries of one or more results directories (merged logs and imported "
            "records, rated together exactly as python -m mlel.ratings rates them) for other tools: "
            "'boamps' writes one BoAmps report (the Boavizta energy report format) per entry; 'table' "
            "writes one CSV or Parquet table, one row per entry, with each metric's value, index, "
            "rating and 95% interval.", 100),
        epilog="Examples:\n"
               "  python -m mlel.export boamps -d results -o boamps/\n"
               "  python -m mlel.export table -d ../shared/reference/mlee-2022/results -d imported -o rated.parquet\n"
               + EXIT_CODES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{boamps,table}")
    boamps = commands.add_parser(
        "boamps", help="one BoAmps report (JSON) per rated entry",
        description=textwrap.fill(
            "One BoAmps report per rated entry, named from the entry key (task, model, environment; "
            "stable from one export to the next): the task (inference or training, the model, the data), "
            "the energy in kWh and where it came from (measured by which power source, estimated, or "
            "reported by the tool an importer read), the hardware and software of the run. An entry "
            "without any energy of a run or of one request is named on stderr and not written.", 100),
        epilog=EXIT_CODES_EPILOG)
    table = commands.add_parser(
        "table", help="one CSV or Parquet table of every rated entry",
        description=textwrap.fill(
            "One row per rated entry: task, environment, model, configuration (config_<key>), runs, the "
            "compound rating and its probability, the energy; per metric <key>_value_<unit>, _index, "
            "_rating, _rating_probability, _ci95_low_<unit>, _ci95_high_<unit>, _n, _not_rated, "
            "_invalid. The same values as python -m mlel.ratings --json. Parquet needs pyarrow "
            "(pip install 'mlee[parquet]').", 100),
        epilog="Read it: pandas.read_csv(PATH) or pandas.read_parquet(PATH)\n"
               + EXIT_CODES_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    for sub in (boamps, table):
        sub.add_argument("--directory", "-d", action="append", metavar="DIR",
                         help="a directory of merged logs and result records (repeatable; default: results)")
        add_rating_arguments(sub)  # rated as python -m mlel.ratings rates
        sub.add_argument("--task", metavar="TASK", help="export only this task's entries")
    boamps.add_argument("--output", "-o", required=True, metavar="OUT",
                        help="directory to write the reports into (made if missing)")
    table.add_argument("--output", "-o", required=True, metavar="OUT.csv|OUT.parquet",
                       help="the table file; its extension picks the format")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return until_stopped(lambda: _run(args),
                         lambda how: f"{how}: stopped; every file in {args.output} is whole (written atomically)")


def _run(args) -> int:
    directories = args.directory or ["results"]
    try:
        output = _checked_output(args)
        options, report = rate_as_told(args, directories, args.task)
    except MleeError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    skipped = skipped_files(report, directories)
    for problem in skipped:
        print(f"skipped {problem}", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not report.records:
        print(f"error: nothing could be rated in {', '.join(map(str, directories))} "
              f"({len(skipped)} file(s) skipped)", file=sys.stderr)
        return EXIT_FAILED
    found = export_entries(report)
    try:
        if args.command == "boamps":
            return _write_boamps(found, output, options)
        return _write_table(found, output, options)
    except MissingParquet as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except MleeError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code


def _checked_output(args) -> Path:
    """The output path, checked before anything is read: a usage error names it."""
    output = Path(args.output)
    if args.command == "boamps":
        if output.exists() and not output.is_dir():
            raise UsageError(f"output {output} exists and is not a directory")
        return output
    if output.suffix.lower() not in TABLE_FORMATS:
        raise UsageError(f"output {output}: the name must end in {' or '.join(TABLE_FORMATS)} (it picks the format)")
    if output.is_dir():
        raise UsageError(f"output {output} is a directory; name the table file")
    if not output.parent.is_dir():
        raise UsageError(f"output {output}: no such directory {output.parent}")
    return output


def _write_table(found: list[ExportEntry], output: Path, options: RatingOptions) -> int:
    write = TABLE_FORMATS[output.suffix.lower()]
    units = {task: {p.key: p.unit for p in s.properties} for task, s in task_property_sets(options).items()}
    table = build_table([entry.rated.to_dict() for entry in found], units)
    write_atomic(output, write(table))
    print(f"wrote {output}: {len(table.rows)} entries, {len(table.columns)} columns", file=sys.stderr)
    return EXIT_OK


def _write_boamps(found: list[ExportEntry], output: Path, options: RatingOptions) -> int:
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot make the output directory {output}: {error.strerror or error}") from error
    sets = task_property_sets(options)
    created, version = datetime.now(timezone.utc), _version()
    written = 0
    # the entry's stem, as its page on a site published from these directories has it
    stems = unique_stems(entry.rated.entry.key for entry in found)
    for entry, stem in _progress(list(zip(found, stems))):
        rated, properties = entry.rated, sets[entry.rated.task]
        energy = energy_figure(rated, properties)
        if energy is None:
            print(f"not exported: {rated.name} ({rated.environment}; {', '.join(map(str, entry.files))}): "
                  f"{no_energy_reason(properties)}", file=sys.stderr)
            continue
        source = origin(entry)
        if source.problem:
            print(f"note: {source.problem}; its report says less", file=sys.stderr)
        write_atomic(output / f"{stem}.json", dumps(boamps_report(entry, source, properties, energy, created, version)))
        written += 1
    print(f"wrote {written} BoAmps report(s) into {output}"
          f"{f'; {len(found) - written} entries without an energy not exported' if written < len(found) else ''}",
          file=sys.stderr)
    return EXIT_OK if written else EXIT_FAILED


def _progress(entries: list):
    """The entries, with a progress bar on stderr once it takes a while (tqdm, as the importers')."""
    from tqdm.auto import tqdm

    # disable=None: no bar where stderr is no terminal (a log file, a test)
    return tqdm(entries, desc="exporting", unit="entry", delay=PROGRESS_AFTER_S, dynamic_ncols=True,
                disable=None, file=sys.stderr)


def _version() -> str | None:
    try:
        return metadata.version("mlee")
    except metadata.PackageNotFoundError:
        return None
