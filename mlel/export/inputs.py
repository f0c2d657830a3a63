"""What the exports read: the rated entries of one or more results directories, rated together by
the ratings pipeline (:func:`mlel.ratings.report.rate_directories`, never here), each with the
directory and the merged logs it came from; and what an entry's first file says beyond its rating.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlel.base.errors import MleeError
from mlel.base.io import read_file_bytes
from mlel.ratings.rated import RatedResult
from mlel.ratings.report import RatingReport
from mlel.results import ResultRecord, parse_record_bytes
from mlel.runlog.logs import PlatformInfo, RunLog, platform_info
from mlel.runlog.validation import check_merged_log, parse_json


@dataclass(frozen=True)
class ExportEntry:
    """One rated entry and where it came from: its directory and the merged logs pooled into it
    (none where it came from result records, or where a log's name is not one file's)."""

    rated: RatedResult
    directory: Path
    runs: tuple[RunLog, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(self.directory / name for name in self.rated.logs)


def export_entries(report: RatingReport) -> list[ExportEntry]:
    """The entries of a rating of results directories (:func:`mlel.ratings.report.rate_directories`: the
    exports never rate), each with its directory and its merged logs."""
    runs: dict[str, list[RunLog]] = {}
    for run in report.runs:
        runs.setdefault(run.file, []).append(run)
    return [ExportEntry(record, Path(place), _runs_of(record, runs))
            for record, place in zip(report.records, report.origins)]


def _runs_of(record: RatedResult, runs: dict[str, list[RunLog]]) -> tuple[RunLog, ...]:
    """The merged logs of an entry, by file name; a name two directories share is told apart by the
    entry's task, model and environment, and left out where even those agree."""
    found = []
    for name in record.logs:
        mine = [run for run in runs.get(name, ()) if (run.task, run.model, run.environment)
                == (record.task, record.model, record.environment)]
        if len(mine) != 1:
            return ()
        found.append(mine[0])
    return tuple(found)


@dataclass(frozen=True)
class Origin:
    """What an entry's first file says beyond the rating: the machine of a merged log (its platform,
    as the merged-log reader checks it), or the result record an importer wrote."""

    platform: PlatformInfo | None = None
    system: dict = field(default_factory=dict)  # the merged log's execution_platform (OS, GPU memory, …)
    record: ResultRecord | None = None
    problem: str | None = None  # why the file could not be read again (the export then says less)


def origin(entry: ExportEntry) -> Origin:
    """Read the entry's first file again, for what the rating does not keep (hardware, software,
    provenance). Never raises: a file that changed or vanished since it was rated gives its problem."""
    path = entry.files[0]
    try:
        raw = read_file_bytes(path)
        found = parse_record_bytes(path.name, raw)
        if found is None:  # no result record: a merged log, read once and checked by the one decoder
            checked = check_merged_log(parse_json(raw))
            return Origin(platform=platform_info(checked), system=dict(checked.platform))
    except (OSError, ValueError, MleeError) as error:
        return Origin(problem=f"{path}: {error}")
    if isinstance(found, ResultRecord):
        return Origin(record=found)
    return Origin(problem=f"{path}: {found.reason}")
