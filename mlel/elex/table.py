"""ELEx's table of all rated models: columns, rows, and filtering / sorting / paging on the server
(the browser never holds 10,000 rows). :mod:`mlel.elex.grid` shows them in an AG Grid."""
from __future__ import annotations

import json
import math
import re
from typing import Sequence

import numpy as np

from mlel.ratings.engine import NOT_RATED, RATINGS
from mlel.ratings import RATING_COLORS, RATING_TEXT_COLORS
from mlel.elex import entries, state
from mlel.elex.state import NO_LEVEL, Rating
from mlel.base.formatting import format_quantity

NOT_RATED_BACKGROUND = "#dddddd"  # a cell without a level: grey, never a rating colour



def column_texts(prop, values: list[float]) -> list[str]:
    """A column's values in readable units; a missing one (NaN) as the property says (``missing_text``)."""
    return [prop.missing_text if v != v else format_quantity(v, prop.unit) for v in values]

def table_columns(rating: Rating) -> list[dict]:
    columns = [{"name": ["", "Model"], "id": "model"}, {"name": ["", "Environment"], "id": "environment"},
               {"name": ["", "Rating"], "id": "compound"}, {"name": ["", "Runs"], "id": "runs"}]
    for prop in rating.table.properties.properties:
        # values are shown with their own unit prefix ("94.3 mWh / sample"); sorting and filtering
        # work on the raw numbers on the server
        columns.append({"name": [prop.name, "value"], "id": prop.key})
        columns.append({"name": [prop.name, "rating"], "id": f"{prop.key}__rating"})
    columns.append({"name": ["", "Note"], "id": "note"})
    return columns


def _chance(rating: Rating, letter: str | None, odds) -> str:
    """"B (87%)" / "4 (87%)" — the level as the scheme labels it, with its probability; "–": none."""
    if letter is None:
        return NO_LEVEL
    label = rating.level_labels[RATINGS.index(letter)]
    shown = entries.chance_text(letter, odds)
    return label + shown[len(letter):]


def _row_extras(rating: Rating, row: int, record) -> dict:
    """Runs, the "not graded" / "not rated" note and rating probabilities of one row, where its
    record has them."""
    entry = rating.table.results[row]
    extras = {"runs": entries.n_runs(entry)}
    reason = entries.not_graded(entry)
    unrated = rating.reason(row)
    extras["note"] = (f"not graded: {reason}" if reason else f"not rated: {entries.short_name(unrated, 300)}"
                      if unrated else (getattr(entry, "window_unchecked", None) or ""))
    if reason:  # the pipeline gives a not graded entry no letter at all
        extras["compound"] = NO_LEVEL
        extras.update({f"{key}__rating": NO_LEVEL for key in record.metrics})
    if not getattr(record, "resampled", False):  # one letter, certain: no probability to show
        return extras
    extras["compound"] = _chance(rating, record.compound, getattr(record, "compound_p", None))
    for key, metric in record.metrics.items():
        extras[f"{key}__rating"] = _chance(rating, metric.rating, getattr(metric, "rating_p", None))
    return extras


def table_rows(rating: Rating, rows: np.ndarray | None = None) -> list[dict]:
    """One dict per rated model: values with units, ratings ("B (87%)" where the record knows the
    probability; "–" where there is none), runs and notes, for the grid (only ever one block of
    rows: their records are made in one call of the pipeline)."""
    table = rating.table
    rows = np.arange(len(table)) if rows is None else rows
    letters = np.array(rating.level_labels)  # the scheme's five labels, then "–" (NOT_RATED)
    compound = letters[rating.compound[rows]].tolist()
    columns = {}
    for j, metric in enumerate(table.metrics):
        columns[metric] = column_texts(table.properties[metric], table.values[rows, j].tolist())
        columns[f"{metric}__rating"] = letters[rating.levels[rows, j]].tolist()
    labels = np.array(table.labels or table.environments, dtype=object)[table.env_code[rows]].tolist()
    keys = list(columns)
    out = []
    made = state.records(rating, rows.tolist())
    for i, row in enumerate(rows.tolist()):
        record = {"id": row, "model": entries.short_name(table.models[row]), "environment": labels[i],
                  "compound": compound[i]}
        for key in keys:
            record[key] = columns[key][i]
        record.update(_row_extras(rating, row, made[i]))
        out.append(record)
    return out


_FILTER = re.compile(r"\{(?P<column>[^}]+)\}\s*(?P<op>[is]?(?:contains|eq|ne|lt|le|gt|ge)\b|!=|<=|>=|=|<|>)"
                     r"\s*(?P<value>.*)$")
_OPERATORS = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def parse_filter(query: str | None) -> list[tuple[str, str, object]]:
    """A filter query (``{col} op value && …``, as :func:`table_page` takes it) -> [(column, op,
    value)]. Clauses this does not understand are dropped (the table then shows more, never fails)."""
    clauses = []
    for part in (query or "").split(" && "):
        match = _FILTER.match(part.strip())
        if not match:
            continue
        op = match["op"]
        if op[0] in "is" and op[1:] in (*_OPERATORS, "contains"):  # case prefixes: always insensitive
            op = op[1:]
        op = _OPERATORS.get(op, op)
        raw = match["value"].strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"`":
            value: object = raw[1:-1]
        else:
            try:
                value = float(raw)
            except ValueError:
                value = raw
        clauses.append((match["column"], op, value))
    return clauses


RATING_DEPENDENT = "compound"  # and every "<metric>__rating": their letters move with the sliders


def _coded_column(rating: Rating, column: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A text column as (distinct values in ascending order of their lower case, code per row):
    filters test the few distinct values, sorts compare the codes (no string per row)."""
    table = rating.table
    if column == "model":
        return state.remembered(table, "models", lambda: _codes(table.models), bucket="table columns")
    if column == "environment":
        labels, codes = state.remembered(table, "environments", lambda: _codes(table.labels or table.environments),
                                         bucket="table columns")
        return labels, codes[table.env_code]
    if column == RATING_DEPENDENT:  # A..E sort as their levels 0..4, none ("–") last
        return np.array(rating.level_labels, dtype=object), _shown_levels(rating, rating.compound)
    if column.endswith("__rating") and column[:-8] in table.metrics:
        return np.array(rating.level_labels, dtype=object), _shown_levels(
            rating, rating.levels[:, table.column(column[:-8])])
    return None


def _shown_levels(rating: Rating, levels: np.ndarray) -> np.ndarray:
    """Levels as the table shows them: none (NOT_RATED) where the entry is not graded."""
    graded = rating.table.graded
    return levels if graded is None or graded.all() else np.where(graded, levels, NOT_RATED)


def _codes(texts) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``texts`` ordered by their lower case, and each text's position among them."""
    lower, first, codes = np.unique(np.array([str(t).lower() for t in texts]), return_index=True,
                                    return_inverse=True)
    distinct = np.array([texts[i] for i in first.tolist()], dtype=object) if len(lower) else np.zeros(0, object)
    return state.frozen(distinct), state.frozen(codes.reshape(-1))


def _mask(column: np.ndarray, op: str, value) -> np.ndarray:
    numeric = column.dtype.kind == "f"
    if op in ("blank", "notblank"):
        blank = np.isnan(column) if numeric else np.array([str(v) in ("", NO_LEVEL) for v in column], dtype=bool)
        return blank if op == "blank" else ~blank
    if op in TEXT_OPS:
        needle = str(value).lower()
        text = column if not numeric else np.array([f"{v:.4g}" for v in column], dtype=object)
        test = TEXT_OPS[op]
        return np.array([test(str(v).lower(), needle) for v in text], dtype=bool)
    if numeric:
        if not isinstance(value, float):
            return np.zeros(len(column), dtype=bool)
        with np.errstate(invalid="ignore"):
            return {"=": np.isclose(column, value, rtol=5e-4), "!=": ~np.isclose(column, value, rtol=5e-4),
                    "<": column < value, "<=": column <= value, ">": column > value,
                    ">=": column >= value}[op]
    text = np.array([str(v).lower() for v in column], dtype=object)
    needle = (f"{value:g}" if isinstance(value, float) else str(value)).lower()
    return {"=": text == needle, "!=": text != needle, "<": text < needle, "<=": text <= needle,
            ">": text > needle, ">=": text >= needle}[op].astype(bool)


# text tests on lower case (the grid's text filter; a query of table_page knows "contains" only)
TEXT_OPS = {"contains": lambda text, needle: needle in text,
            "!contains": lambda text, needle: needle not in text,
            "startswith": str.startswith, "endswith": str.endswith}
OPS = (*TEXT_OPS, "blank", "notblank", "=", "!=", "<", "<=", ">", ">=")


def column_mask(rating: Rating, column: str, op: str, value) -> np.ndarray | None:
    """(n,) which rows pass ``{column} op value`` (ops: :data:`OPS`; values are compared raw, text
    in lower case); None for a column or op ELEx does not know (the caller ignores the clause)."""
    table = rating.table
    if op not in OPS:
        return None
    if column in table.metrics:
        return _mask(table.values[:, table.column(column)], op, value)
    coded = _coded_column(rating, column)
    return None if coded is None else _mask(coded[0], op, value)[coded[1]]  # each distinct text once


def moves(rating: Rating, columns) -> bool:
    """Whether a slider move can change any of ``columns`` (a rating letter)."""
    return any(column == RATING_DEPENDENT or (column.endswith("__rating") and column[:-8] in rating.table.metrics)
               for column in columns)


def ordered_rows(rating: Rating, key, keep, orders: Sequence[tuple[str, bool]], columns) -> np.ndarray:
    """The rows ``keep()`` passes (a mask), in the order of ``orders``. Remembered by ``key`` (all
    that ``keep`` depends on) where no column in ``columns`` (those it filters) or ``orders``
    moves with the sliders: values, models and environments only outlive every slider move."""
    def compute():
        return state.frozen(_ordered_rows(rating, keep(), orders))
    if moves(rating, [*columns, *(o[0] for o in orders)]):
        return compute()
    return state.remembered(rating.table, ("order", key, tuple(orders)), compute, bucket="table orders",
                            limit=ORDERS_KEPT)


def table_page(rating: Rating, page: int = 0, size: int = 15, sort_by: Sequence[dict] | None = None,
               filter_query: str | None = None) -> tuple[list[dict], int]:
    """One page of the table after filtering and sorting on the server (the browser never holds
    10,000 rows), from a query string and a sort (``[{"column_id", "direction"}]``). Returns (rows
    of the page, number of pages)."""
    clauses = tuple(parse_filter(filter_query))
    orders = tuple((order.get("column_id"), order.get("direction") == "desc") for order in list(sort_by or [])
                   if isinstance(order.get("column_id"), str))
    rows = ordered_rows(rating, ("query", clauses), lambda: _clauses_mask(rating, clauses), orders,
                        [c[0] for c in clauses])
    size = max(1, int(size or 15))
    pages = max(1, math.ceil(len(rows) / size))
    page = min(max(0, int(page or 0)), pages - 1)
    return table_rows(rating, rows[page * size:(page + 1) * size]), pages


ORDERS_KEPT = 8  # filtered and sorted row orders per table (each ≤ 8 bytes a row)


def _clauses_mask(rating: Rating, clauses) -> np.ndarray:
    keep = np.ones(len(rating.table), dtype=bool)
    for column, op, value in clauses:
        mask = column_mask(rating, column, op, value)
        if mask is not None:
            keep &= mask
    return keep


def _ordered_rows(rating: Rating, keep: np.ndarray, orders: Sequence[tuple[str, bool]]) -> np.ndarray:
    """The rows ``keep`` passes, in the order of ``orders`` ((column, descending), first the
    primary one); columns ELEx does not know are ignored."""
    table = rating.table
    rows = np.flatnonzero(keep)
    keys = []
    for column, descending in reversed(orders):  # np.lexsort: the last key is the primary one
        if column in table.metrics:
            values = table.values[rows, table.column(column)]
            missing = np.isnan(values)
            key = np.where(missing, 0.0, values)
        elif (coded := _coded_column(rating, column)) is not None:
            key, missing = coded[1][rows], np.zeros(len(rows), dtype=bool)
        else:
            continue
        keys += [-key if descending else key, missing]  # missing values last in either direction
    return rows[np.lexsort(keys)] if keys else rows


def rating_cell_styles(rating: Rating) -> dict:
    """The grid's style of a rating cell ("B", "B (87%)"): its level's colour behind the letter in
    the colour that reads on it (the letter is always there), grey where there is no level ("–")."""
    conditions = []
    for label, letter in zip(rating.level_labels, RATINGS):
        shown = json.dumps(label)
        conditions.append({"condition": f"params.value === {shown} || String(params.value).startsWith({shown} + ' (')",
                           "style": {"backgroundColor": RATING_COLORS[letter], "color": RATING_TEXT_COLORS[letter],
                                     "fontWeight": "bold", "textAlign": "center"}})
    return {"styleConditions": conditions,
            "defaultStyle": {"backgroundColor": NOT_RATED_BACKGROUND, "color": "#333", "textAlign": "center"}}
