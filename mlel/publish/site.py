"""What the site shows: the rated entries of every input directory, each with its page name and
the directory its files are in, grouped by task and environment. The ratings pipeline rates
(:func:`mlel.ratings.report.rate_directories`, what ``python -m mlel.ratings -d DIR`` runs for one
directory); this module only reads its records."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlel.labels.inputs import provenance_of
from mlel.base.filenames import unique_stems
from mlel.ratings import RatedResult, RatingOptions
from mlel.ratings.cli import skipped_files, task_property_sets
from mlel.ratings.report import RatingReport, rate_directories
from mlel.runlog.logs import Problem
from mlel.tasks.properties import PropertySet

ENTRY_FOLDER, GROUP_FOLDER = "entries", "tasks"


@dataclass(frozen=True)
class SiteEntry:
    record: RatedResult
    summary: dict  # record.to_dict(): the JSON ``python -m mlel.ratings --json`` prints for it
    directory: str  # the input directory its files are in
    page: str  # file name stem of its page, PDF and JSON (mlel.base.filenames: its BoAmps report's too)
    group: str  # file name stem of its task and environment's page
    provenance: dict | None  # a result record's {"tool", "file", "row"}; None for merged logs

    @property
    def label_summary(self) -> dict:
        """The summary the label is drawn from, as ``python -m mlel.label_generator`` gives it."""
        extra = {"mode": self.record.mode}
        if self.provenance is not None:
            extra["provenance"] = self.provenance
        return {**self.summary, **extra}


@dataclass(frozen=True)
class Group:
    """One task in one environment: a page with its table and scatter."""

    task: str
    environment: str
    label: str  # the environment as every output shows it ("... (estimated)")
    page: str
    entries: tuple[SiteEntry, ...]


@dataclass(frozen=True)
class SiteData:
    directories: tuple[str, ...]
    entries: tuple[SiteEntry, ...]
    groups: tuple[Group, ...]  # by task, then environment
    property_sets: dict[str, PropertySet]  # task -> its property set
    problems: tuple[Problem, ...]  # a file skipped (named with its directory), with the reason
    warnings: tuple[str, ...]

    def tasks(self) -> list[str]:
        return list(dict.fromkeys(group.task for group in self.groups))

    def groups_of(self, task: str) -> list[Group]:
        return [group for group in self.groups if group.task == task]


def load_site(directories: list[str | os.PathLike], options: RatingOptions | None = None,
              report: RatingReport | None = None) -> SiteData:
    """Rate the directories (each task under its own scheme, unless ``options`` say otherwise) and name
    every page; ``report``: their rating by these options, made already. Raises FileNotFoundError /
    NotADirectoryError naming a directory that is missing or a file, UsageError for one given twice."""
    options = options or RatingOptions()
    dirs = [os.fspath(d) for d in directories]
    report = report or rate_directories(dirs, options)
    records, places = report.records, report.origins
    summaries = [record.to_dict() for record in records]
    entry_keys = [r.entry.key for r in records]  # as the entry's BoAmps report is named
    group_keys = sorted({(r.task, r.environment) for r in records})
    entry_pages = unique_stems(entry_keys)
    group_pages = dict(zip(group_keys, unique_stems(group_keys)))
    site_entries = []
    for record, summary, place, page in zip(records, summaries, places, entry_pages):
        site_entries.append(SiteEntry(record, summary, place, page, group_pages[(record.task, record.environment)],
                                      provenance_of(summary, [Path(place)])))
    site_entries.sort(key=lambda e: (e.record.task, e.record.environment, e.record.name.lower(), e.page))
    groups = []
    for task, environment in group_keys:
        members = tuple(e for e in site_entries if e.record.task == task and e.record.environment == environment)
        groups.append(Group(task, environment, members[0].summary["environment_label"],
                            group_pages[(task, environment)], members))
    groups.sort(key=lambda g: (g.task, g.label.lower(), g.page))
    known = task_property_sets(options)
    sets = {group.task: known[group.task] for group in groups}
    return SiteData(tuple(dirs), tuple(site_entries), tuple(groups), sets, tuple(skipped_files(report, dirs)),
                    tuple(report.warnings))

