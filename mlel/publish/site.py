"""What the site shows: the rated entries of every input directory, each with its page name and
the directory its files are in, grouped by task and environment. The ratings pipeline rates; this
module only reads its records (the directories rated together, as one directory of all their files
would be: :func:`mlel.ratings.report.load_entries` then :func:`mlel.ratings.rate_entries`, which is
what ``python -m mlel.ratings -d DIR`` runs for one directory)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlel.labels.inputs import provenance_of
from mlel.ratings import RatedResult, RatingOptions, rate_entries
from mlel.ratings.report import load_entries
from mlel.runlog.logs import Problem
from mlel.tasks.properties import PropertySet, load_property_set
from mlel.publish.naming import unique_names

ENTRY_FOLDER, GROUP_FOLDER = "entries", "tasks"


@dataclass(frozen=True)
class SiteEntry:
    record: RatedResult
    summary: dict  # record.to_dict(): the JSON ``python -m mlel.ratings --json`` prints for it
    directory: str  # the input directory its files are in
    page: str  # file name stem of its page, PDF and JSON (mlel.publish.naming)
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
    problems: tuple[tuple[str, Problem], ...]  # (directory, a file skipped with the reason)
    warnings: tuple[str, ...]

    def tasks(self) -> list[str]:
        return list(dict.fromkeys(group.task for group in self.groups))

    def groups_of(self, task: str) -> list[Group]:
        return [group for group in self.groups if group.task == task]


def _rate(directories: list[str]):
    """(rated records, directory of each record's files, problems, warnings)."""
    entries, where, problems = [], {}, []
    for directory in directories:
        found, skipped, _ = load_entries(directory)
        for entry in found:
            where.setdefault(tuple(entry.logs), directory)
        entries += found
        problems += [(directory, problem) for problem in skipped]
    records, warnings = rate_entries(entries, RatingOptions())
    return records, [where.get(tuple(r.entry.logs), directories[0]) for r in records], problems, warnings


def load_site(directories: list[str | os.PathLike]) -> SiteData:
    """Rate the directories (each task under its own scheme) and name every page. Raises
    FileNotFoundError / NotADirectoryError naming a directory that is missing or a file."""
    dirs = list(dict.fromkeys(os.fspath(d) for d in directories))
    records, places, problems, warnings = _rate(dirs)
    summaries = [record.to_dict() for record in records]
    entry_keys = [(r.task, r.environment, r.name) for r in records]
    group_keys = sorted({(r.task, r.environment) for r in records})
    entry_pages = unique_names(entry_keys)
    group_pages = dict(zip(group_keys, unique_names(group_keys)))
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
    sets = {task: load_property_set(task) for task in dict.fromkeys(g.task for g in groups)}
    return SiteData(tuple(dirs), tuple(site_entries), tuple(groups), sets, tuple(problems), tuple(warnings))

