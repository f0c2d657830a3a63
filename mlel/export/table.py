"""The flat table of rated entries: one row per entry, one column per fact — for pandas users.

Every cell is taken from the entry's rated summary (:meth:`mlel.ratings.rated.RatedResult.to_dict`,
what ``python -m mlel.ratings --json`` prints), so the table and the JSON cannot disagree. Per metric:
``<key>_value_<unit>``, ``<key>_index``, ``<key>_rating`` (the letter, or a scheme's level label),
``<key>_rating_probability`` (of the letter shown), ``<key>_ci95_low_<unit>``, ``<key>_ci95_high_<unit>``
(None with one run), ``<key>_n`` (runs with a value), ``<key>_not_rated`` and ``<key>_invalid`` (why
not). A metric key that two tasks state in different units (``throughput``: images/s, videos/s) gets
one column set per unit, the columns without a unit then named ``<key>_<unit>_index`` and so on.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from mlel.base.errors import InputError

FLOAT, INT, BOOL, TEXT = "float", "int", "bool", "text"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # FLOAT | INT | BOOL | TEXT: what the Parquet column holds (CSV: text either way)


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple, ...]  # one value per column; None where the entry has none


# the entry's own facts, in this order: (column, kind, how the rated summary gives it)
_ENTRY_COLUMNS = (
    ("task", TEXT, lambda d: d["task"]),
    ("environment", TEXT, lambda d: d["environment"]),
    ("environment_label", TEXT, lambda d: d.get("environment_label")),
    ("model", TEXT, lambda d: d["model"]),
    ("entry", TEXT, lambda d: d.get("entry")),
    ("dataset", TEXT, lambda d: d.get("dataset")),
    ("backend", TEXT, lambda d: d.get("backend")),
    ("scheme", TEXT, lambda d: d.get("scheme")),
    ("reference", TEXT, lambda d: d.get("reference")),
    ("n_runs", INT, lambda d: d.get("n_runs")),
    ("graded", BOOL, lambda d: d.get("graded")),
    ("not_graded", TEXT, lambda d: d.get("not_graded")),
    ("compound", TEXT, lambda d: d.get("compound")),
    ("compound_probability", FLOAT, lambda d: _probability(d.get("compound"), d.get("compound_p"))),
    ("not_rated", TEXT, lambda d: d.get("not_rated")),
    ("compound_rests_on", TEXT, lambda d: d.get("compound_rests_on")),
    ("uncertainty", TEXT, lambda d: d.get("uncertainty")),
    ("energy_total_ws", FLOAT, lambda d: d["energy"]["total_ws"]),
    ("energy_dynamic_ws", FLOAT, lambda d: d["energy"]["dynamic_ws"]),
    ("energy_estimated", BOOL, lambda d: d["energy"]["estimated"]),
    ("energy_sources", TEXT, lambda d: "; ".join(f"{k}={v}" for k, v in d["energy"]["sources"].items()) or None),
    ("gco2e", FLOAT, lambda d: d["energy"]["gco2e"]),
    ("logs", TEXT, lambda d: "; ".join(d.get("logs") or ()) or None),
)
CONFIGURATION_PREFIX = "config_"


def _probability(label, odds) -> float | None:
    return None if label is None or not odds else odds.get(label)


def unit_slug(unit: str) -> str:
    """A unit as a column-name suffix: "Ws / sample" -> "ws_per_sample", "%" -> "percent"."""
    text = unit.replace("/", " per ").replace("%", " percent ").replace("µ", "u").lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _metric_columns(key: str, prefix: str, slug: str) -> tuple[Column, ...]:
    """A metric's columns: those in its unit named ``<key>_…_<unit>``; the others ``<prefix>_…``."""
    unit = f"_{slug}" if slug else ""
    return (Column(f"{key}_value{unit}", FLOAT), Column(f"{prefix}_index", FLOAT),
            Column(f"{prefix}_rating", TEXT), Column(f"{prefix}_rating_probability", FLOAT),
            Column(f"{key}_ci95_low{unit}", FLOAT), Column(f"{key}_ci95_high{unit}", FLOAT),
            Column(f"{prefix}_n", INT), Column(f"{prefix}_not_rated", TEXT), Column(f"{prefix}_invalid", TEXT))


def _metric_cells(metric: Mapping | None) -> tuple:
    if metric is None:
        return (None,) * 9
    ci95 = metric.get("ci95") or (None, None)
    return (metric.get("value"), metric.get("index"), metric.get("rating"),
            _probability(metric.get("rating"), metric.get("rating_p")), ci95[0], ci95[1], metric.get("n"),
            metric.get("not_rated"), metric.get("invalid"))


def build_table(rated: Sequence[Mapping], units: Mapping[str, Mapping[str, str]]) -> Table:
    """The table of rated summaries; ``units``: task -> {metric key: unit} (its property set)."""
    configuration = sorted({key for summary in rated for key in summary.get("configuration") or {}})
    metrics: dict[tuple[str, str], None] = {}  # (key, unit), in the order met
    for summary in rated:
        for key in summary["metrics"]:
            metrics.setdefault((key, units.get(summary["task"], {}).get(key, "")))
    units_of: dict[str, set[str]] = {}
    for key, unit in metrics:
        units_of.setdefault(key, set()).add(unit)
    prefixes = {(key, unit): key if len(units_of[key]) == 1 else f"{key}_{unit_slug(unit) or 'no_unit'}"
                for key, unit in metrics}
    columns = [Column(name, kind) for name, kind, _ in _ENTRY_COLUMNS]
    columns += [Column(CONFIGURATION_PREFIX + key, TEXT) for key in configuration]
    for key, unit in metrics:
        columns += _metric_columns(key, prefixes[key, unit], unit_slug(unit))
    rows = []
    for summary in rated:
        task_units, given = units.get(summary["task"], {}), summary.get("configuration") or {}
        row = [get(summary) for _, _, get in _ENTRY_COLUMNS]
        row += [None if given.get(key) is None else str(given[key]) for key in configuration]
        for key, unit in metrics:
            mine = key in summary["metrics"] and task_units.get(key, "") == unit
            row += _metric_cells(summary["metrics"][key] if mine else None)
        rows.append(tuple(row))
    names = [column.name for column in columns]
    if len(set(names)) != len(names):  # a configuration key named like a column: never silently merged
        duplicated = sorted({name for name in names if names.count(name) > 1})
        raise InputError(f"two columns would be named {', '.join(duplicated)}: rename a metric key")
    return Table(tuple(columns), tuple(rows))


def csv_bytes(table: Table) -> bytes:
    """UTF-8 CSV: a header, one line per entry; a missing value is an empty cell; numbers as Python
    writes them (shortest text that reads back to the same float)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(column.name for column in table.columns)
    writer.writerows(("" if cell is None else cell for cell in row) for row in table.rows)
    return out.getvalue().encode("utf-8")


class MissingParquet(ImportError):
    """pyarrow is not installed."""


def parquet_bytes(table: Table) -> bytes:
    """The table as Parquet (pyarrow), each column typed: float64, int64, bool or string."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:
        raise MissingParquet("writing Parquet needs pyarrow: pip install 'mlee[parquet]' "
                             "(or write a .csv)") from error
    types = {FLOAT: pa.float64(), INT: pa.int64(), BOOL: pa.bool_(), TEXT: pa.string()}
    arrays = [pa.array([row[j] for row in table.rows], type=types[column.kind])
              for j, column in enumerate(table.columns)]
    out = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, names=[column.name for column in table.columns]), out)
    return out.getvalue()
