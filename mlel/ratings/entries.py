"""Entries: what the rating core rates, one (task, environment, model) each — from merged logs'
runs (:func:`mlel.ratings.aggregate_runs`) or generic result records (:func:`entries_from_records`).

An entry (:class:`ModelResult`) is generic — (task, environment, model, {property key: value},
sources, ...) — so results of merged logs and results imported from other tools rate alike.
"""
from __future__ import annotations

import os
from pathlib import PurePath
from dataclasses import dataclass, field
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mlel.ratings.gates import DEFAULT_GATES, Gates, pooled_facts, record_facts

if TYPE_CHECKING:  # the record type only; reading records is mlel.results' job
    from mlel.results import ResultRecord


@dataclass(frozen=True)
class ModelResult:
    """One (task, environment, model) to rate: its runs' property values averaged (SPEC §5).
    From merged logs (:func:`mlel.ratings.aggregate_runs`) or from generic result records
    (:func:`entries_from_records`); ``sources`` maps a source to how it was obtained."""

    task: str
    environment: str
    model: str
    logs: list[str]
    values: dict[str, float | None]
    spread: dict[str, float] = field(default_factory=dict)  # std over runs, where > 1 run
    dataset: str = ""
    backend: str = ""
    sources: dict[str, str] = field(default_factory=dict)  # source -> measured | estimated | ...
    energy_ws: float | None = None
    dynamic_energy_ws: float | None = None
    gco2e: float | None = None
    # what changes what is measured (weights, classes, input size, …): runs pool only within one
    configuration: tuple[tuple[str, str], ...] = ()
    variant: str = ""  # what tells this entry from others of the model: "untrained, 1000 classes"
    run_values: tuple[Mapping[str, float | None], ...] = ()  # per run; empty: one run = ``values``
    invalid: Mapping[str, str] = field(default_factory=dict)  # property -> "<file>: <problem>"
    problems: tuple[str, ...] = ()  # every invalid value of its runs, "<file>: <problem>"
    not_graded: str | None = None  # why the measurement cannot carry a grade (validity gates)
    window_unchecked: str | None = None  # why the gates could not check it (a record without a window)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.task, self.environment, self.name

    @property
    def name(self) -> str:
        """The model, and what differs from its other configurations where it has several."""
        return f"{self.model} ({self.variant})" if self.variant else self.model

    @property
    def runs(self) -> tuple[Mapping[str, float | None], ...]:
        """Each pooled run's property values (one run: the entry's own values)."""
        return self.run_values or (self.values,)

    @property
    def n_runs(self) -> int:
        return max(len(self.run_values), 1)

    @property
    def estimated(self) -> bool:
        return "estimated" in self.sources.values()



def _file_name(file: "str | os.PathLike") -> str:
    if type(file) is str:
        return file
    return file.name if isinstance(file, PurePath) else os.path.basename(os.fspath(file))


def identity(name: str, record: "ResultRecord") -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(model, variant, configuration) of a record's entry named ``name``: its model and what tells
    it from the model's other configurations, where the name is "<model> (<variant>)" (an importer's
    configured name, e.g. "Qwen/Qwen3-14B (max_num_seqs 128)"), so that ``--reference <model>`` finds
    it and the reference's entry of the same configuration is preferred; else the name alone."""
    model = record.model
    if name == model:
        return model, "", _configuration(record)
    if name.startswith(model + " (") and name.endswith(")"):
        return model, name[len(model) + 2:-1], _configuration(record)
    return name, "", ()


def _configuration(record: "ResultRecord") -> tuple[tuple[str, str], ...]:
    configuration = record.configuration
    return tuple(sorted((str(k), str(v)) for k, v in configuration.items())) if configuration else ()


def _single_entry(task: str, environment: str, name: str, file, record: "ResultRecord", facts: dict) -> ModelResult:
    props = record.properties
    model, variant, configuration = identity(name, record)
    made = _new(ModelResult)  # every field checked: no frozen __init__
    # set one by one, the fields stay in the instance: no __dict__ for the collector to walk (issue 23);
    # the fields left out keep the plain defaults the class holds
    _set(made, "task", task)
    _set(made, "environment", environment)
    _set(made, "model", model)
    if variant:
        _set(made, "variant", variant)
    if configuration:
        _set(made, "configuration", configuration)
    _set(made, "logs", [_file_name(file)])
    _set(made, "values", {k: p.value for k, p in props.items()})
    _set(made, "spread", {})
    _set(made, "dataset", record.dataset)
    _set(made, "backend", record.environment.software)
    _set(made, "sources", {k: p.source for k, p in props.items()})
    _set(made, "invalid", {})
    _set(made, "not_graded", facts["not_graded"])
    _set(made, "window_unchecked", facts["window_unchecked"])
    return made


_new, _set = object.__new__, object.__setattr__


def entries_from_records(records: Sequence[tuple["str | os.PathLike", "ResultRecord"]],
                         gates: Gates | None = DEFAULT_GATES) -> list[ModelResult]:
    """Generic result records (``mlee-result/1``, SPEC §9), each with its file (a name, or a path as
    :func:`mlel.results.read_result_records` gives it) -> entries: one per (task, environment name, entry
    name), gated as runs are (:func:`mlel.ratings.gates.record_facts`; ``gates=None``: not), failing records
    pooled apart; repeated records averaged property by property (spread kept), as runs are."""
    # one pass, each record made an entry as it is met (a second pass over 100,000 records
    # that are no longer in the cache cost 0.7 s); an entry met again is pooled at the end
    entries, origins = [], []  # origins: the position of each entry's first record
    first: dict[tuple, int] = {}  # (entry, passed the gates) -> its place in entries
    repeated: dict[tuple, list[int]] = {}  # entry -> its records' positions
    for position, (file, record) in enumerate(records):
        found = record_facts(record, gates)  # failing records pool apart, as failing runs do
        key = (record.task, record.environment.name, record.name, found["not_graded"] is None)
        at = first.setdefault(key, len(entries))
        if at == len(entries):
            entries.append(_single_entry(*key[:3], file, record, found))
            origins.append(position)
        else:
            repeated.setdefault(key, [origins[at]]).append(position)
    for key, positions in repeated.items():
        entries[first[key]] = _pooled_entry(*key[:3], [records[p] for p in positions], gates)
    return entries


def _pooled_entry(task: str, environment: str, name: str, members: list[tuple[str, "ResultRecord"]], gates=None
                  ) -> ModelResult:
    """Repeated records of one entry, averaged property by property (spread kept), gated as runs are."""
    from mlel.ratings.intervals import mean_of
    from mlel.ratings.uncertainty import population_std

    members = sorted(((_file_name(file), record) for file, record in members), key=lambda member: member[0])
    values, spread, sources = {}, {}, {}
    for _, record in members:
        for key, prop in record.properties.items():
            values.setdefault(key, []).append(prop.value)
            sources[key] = prop.source
    means = {}
    for key, column in values.items():
        present = [v for v in column if v is not None]
        means[key] = mean_of(present) if present else None  # scaled: never overflows
        if len(present) > 1:
            spread[key] = population_std(present)
    first = members[0][1]
    per_record = tuple({k: p.value for k, p in record.properties.items()} for _, record in members)
    model, variant, configuration = identity(name, first)
    return ModelResult(task, environment, model, [file for file, _ in members], means, spread,
                       dataset=first.dataset, backend=first.environment.software, sources=sources,
                       configuration=configuration, variant=variant,
                       run_values=per_record, **pooled_facts([record for _, record in members], gates))
