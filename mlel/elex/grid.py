"""ELEx's table as an AG Grid (dash-ag-grid) on the infinite row model: the grid asks for the rows
it shows (``startRow``..``endRow`` with its sort and filter models); the server filters and sorts
every row (:mod:`mlel.elex.table`) and sends only those, so a task of 10,000 entries never goes to
the browser at once.

Text columns are left-aligned, numbers right-aligned in readable units (the property set's, as
:func:`mlel.base.formatting.format_quantity` shows them); number filters compare the raw values,
in the unit the column's header names; a rating cell keeps its letter on its level's colour.
"""
from __future__ import annotations

import numpy as np
import orjson

from mlel.base.values import finite_float
from mlel.elex import entries, state
from mlel.elex import table as rated_table
from mlel.elex.state import Rating

BLOCK_ROWS = 50  # rows per request (the grid shows ~15; a block more as one scrolls)
MAX_ROWS_PER_REQUEST = 200  # a forged request cannot ask for the whole table
MAX_FILTER_CHARS = 4000
TEXT_COLUMNS = ("model", "environment", "note")
TEXT_FILTERS = {"contains": "contains", "notContains": "!contains", "equals": "=", "notEqual": "!=",
                "startsWith": "startswith", "endsWith": "endswith", "blank": "blank", "notBlank": "notblank"}
NUMBER_FILTERS = {"equals": "=", "notEqual": "!=", "lessThan": "<", "lessThanOrEqual": "<=", "greaterThan": ">",
                  "greaterThanOrEqual": ">=", "inRange": "range", "blank": "blank", "notBlank": "notblank"}


def _kind(column: str) -> str:
    if column in TEXT_COLUMNS:
        return "text"
    if column == rated_table.RATING_DEPENDENT or column.endswith("__rating"):
        return "rating"
    return "number"


def _definition(rating: Rating, column: dict) -> dict:
    """One column: its filter, alignment and, for a rating, the colour of each level."""
    group, header = column["name"]
    key = column["id"]
    kind = _kind(key)
    definition = {"field": key, "colId": key, "headerName": header}
    if kind == "text":
        definition.update(filter="agTextColumnFilter", cellClass="elex-cell-text", tooltipField=key,
                          filterParams={"filterOptions": list(TEXT_FILTERS), "maxNumConditions": 2},
                          width=_width(rating, key) if key in ("model", "environment") else 260)
    elif kind == "rating":
        definition.update(filter="agTextColumnFilter", cellStyle=rated_table.rating_cell_styles(rating),
                          filterParams={"filterOptions": ["equals", "notEqual", "startsWith"], "maxNumConditions": 2},
                          headerTooltip=f"{group or 'compound'} rating (filter: e.g. equals B)", width=92,
                          suppressFloatingFilterButton=True)  # the box fills the narrow column
    else:
        unit = rating.table.properties[key].unit if key in rating.table.metrics else "runs"
        definition.update(type="rightAligned", filter="agNumberColumnFilter", cellClass="elex-cell-number",
                          filterParams={"filterOptions": list(NUMBER_FILTERS), "maxNumConditions": 2},
                          headerTooltip=f"{group or header} [{unit}] — filters compare numbers in {unit}",
                          width=_width(rating, key) if key in rating.table.metrics else 96)
        if key == "runs":
            definition["suppressFloatingFilterButton"] = True
    return definition


def _width(rating: Rating, column: str) -> int:
    """Pixels for a column of values or names: its longest text among up to 400 rows (remembered
    per table), so "11.6 GFLOPs / sample" or a model's name is not cut (a person can still drag)."""
    table = rating.table

    def measure() -> int:
        rows = np.unique(np.linspace(0, len(table) - 1, num=min(len(table), 400)).astype(int)).tolist()
        if column == "model":
            texts = [entries.short_name(table.models[r]) for r in rows]
        elif column == "environment":
            texts = list(table.labels or table.environments)
        else:
            texts = rated_table.column_texts(table.properties[column], table.values[rows, table.column(column)].tolist())
        longest = max((len(t) for t in texts), default=4)
        return int(min(MAX_WIDTH, max(110, 8 * longest + 40)))  # ~8 px a character at 13 px
    return state.remembered(table, ("width", column), measure, bucket="grid widths", limit=64)


MAX_WIDTH = 360


def columns_key(rating: Rating) -> list[str]:
    """What :func:`column_defs` depends on: the task and the scheme's level labels."""
    return [rating.table.task, *rating.level_labels]


def column_defs(rating: Rating) -> list[dict]:
    """The grid's columns (:func:`mlel.elex.table.table_columns`), each property's value and
    rating under its name."""
    defs: list[dict] = []
    for column in rated_table.table_columns(rating):
        group = column["name"][0]
        definition = _definition(rating, column)
        if not group:
            defs.append(definition)
        elif defs and defs[-1].get("headerName") == group and "children" in defs[-1]:
            defs[-1]["children"].append(definition)
        else:
            defs.append({"headerName": group, "children": [definition], "marryChildren": True})
    return defs


def _condition_mask(rating: Rating, column: str, condition) -> np.ndarray | None:
    """One filter condition of the grid -> which rows pass (None: a condition ELEx ignores)."""
    if not isinstance(condition, dict):
        return None
    kind = condition.get("filterType")
    ops = NUMBER_FILTERS if kind == "number" else TEXT_FILTERS if kind == "text" else {}
    op = ops.get(condition.get("type"))
    if op is None:
        return None
    value = condition.get("filter")
    if kind == "number" and op not in ("blank", "notblank"):
        value = finite_float(value)
        if value is None:
            return None
        if op == "range":
            upper = finite_float(condition.get("filterTo"))
            low = rated_table.column_mask(rating, column, ">=", value)
            high = None if upper is None else rated_table.column_mask(rating, column, "<=", upper)
            return None if low is None or high is None else low & high
    elif kind == "text" and op not in ("blank", "notblank"):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return None
        value = str(value)[:200]
    return rated_table.column_mask(rating, column, op, value)


def filter_mask(rating: Rating, model) -> np.ndarray:
    """(n,) the rows the grid's filter model passes: each column's conditions (AND / OR between
    them), every column ANDed; what ELEx cannot read is ignored (the grid shows more, never fails)."""
    keep = np.ones(len(rating.table), dtype=bool)
    if not isinstance(model, dict):
        return keep
    for column, spec in model.items():
        if not isinstance(column, str) or not isinstance(spec, dict):
            continue
        conditions = spec.get("conditions") if isinstance(spec.get("conditions"), list) else [spec]
        masks = [m for m in (_condition_mask(rating, column, {"filterType": spec.get("filterType"), **c})
                             for c in conditions[:4] if isinstance(c, dict)) if m is not None]
        if masks:
            either = spec.get("operator") == "OR"
            keep &= np.logical_or.reduce(masks) if either else np.logical_and.reduce(masks)
    return keep


def _orders(sort_model) -> tuple[tuple[str, bool], ...]:
    if not isinstance(sort_model, list):
        return ()
    return tuple((s["colId"], s.get("sort") == "desc") for s in sort_model[:8]
                 if isinstance(s, dict) and isinstance(s.get("colId"), str))


def _count(value, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def rows_response(rating: Rating, request) -> dict:
    """The grid's ``getRowsRequest`` -> ``getRowsResponse``: the rows ``startRow``..``endRow`` (at
    most :data:`MAX_ROWS_PER_REQUEST`) after the filter and sort, and how many rows pass."""
    request = request if isinstance(request, dict) else {}
    start = _count(request.get("startRow"), 0)
    end = min(_count(request.get("endRow"), start + BLOCK_ROWS), start + MAX_ROWS_PER_REQUEST)
    model = request.get("filterModel") if isinstance(request.get("filterModel"), dict) else {}
    key = orjson.dumps(model, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()[:MAX_FILTER_CHARS]
    if len(key) >= MAX_FILTER_CHARS:
        model, key = {}, "{}"  # a filter this long is no one's: show every row
    rows = rated_table.ordered_rows(rating, ("grid", key), lambda: filter_mask(rating, model),
                                    _orders(request.get("sortModel")), [c for c in model if isinstance(c, str)])
    return {"rowData": rated_table.table_rows(rating, rows[start:max(start, end)]), "rowCount": int(len(rows))}


__all__ = ["column_defs", "columns_key", "rows_response", "filter_mask", "BLOCK_ROWS", "MAX_ROWS_PER_REQUEST"]
