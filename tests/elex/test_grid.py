"""ELEx's AG Grid on the server (issue 26): the grid's requests (a block of rows, its sort and filter
models) are answered from the whole table without ever sending it all; columns say how each
column is filtered and aligned."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mlel.elex import grid, session, state
from mlel.elex import table as rated_table


@pytest.fixture(scope="module")
def big(elex_data):
    """The 176 inference entries 30 times over (5,280 rows): a task as big as an imported one."""
    results = [dataclasses.replace(r, model=f"{r.model}-{copy}") for copy in range(30)
               for r in elex_data.table("inference").results]
    return state.ElexData.from_results(results)


def _rate(data, settings):
    return state.rate(data, "inference", settings)


def test_a_big_task_sends_one_block_of_rows_and_counts_them_all(big, settings):
    rating = _rate(big, settings)
    response = grid.rows_response(rating, {"startRow": 0, "endRow": grid.BLOCK_ROWS})
    assert response["rowCount"] == 5280 and len(response["rowData"]) == grid.BLOCK_ROWS
    later = grid.rows_response(rating, {"startRow": 5260, "endRow": 5310})
    assert [r["id"] for r in later["rowData"]] == list(range(5260, 5280))
    greedy = grid.rows_response(rating, {"startRow": 0, "endRow": 10**9})
    assert len(greedy["rowData"]) == grid.MAX_ROWS_PER_REQUEST  # never the whole table


def test_the_grid_sorts_on_the_raw_values_and_the_rating_levels(elex_data, settings):
    rating = _rate(elex_data, settings)
    request = {"startRow": 0, "endRow": 200, "sortModel": [{"colId": "top1_val", "sort": "desc"}]}
    rows = grid.rows_response(rating, request)["rowData"]
    raw = rating.table.values[[r["id"] for r in rows], rating.table.column("top1_val")]
    present = raw[~np.isnan(raw)]
    assert list(present) == sorted(present, reverse=True) and np.isnan(raw[len(present):]).all()  # missing last
    by_letter = grid.rows_response(rating, {"startRow": 0, "endRow": 200, "sortModel": [
        {"colId": "compound", "sort": "asc"}, {"colId": "model", "sort": "asc"}]})["rowData"]
    assert [r["id"] for r in by_letter] == [r["id"] for r in rated_table.table_page(
        rating, 0, 200, [{"column_id": "compound", "direction": "asc"}, {"column_id": "model", "direction": "asc"}])[0]]


def _ids(rating, model):
    return {r["id"] for r in grid.rows_response(rating, {"startRow": 0, "endRow": 200, "filterModel": model})["rowData"]}


def test_the_grid_filters_text_numbers_and_letters(elex_data, settings):
    rating = _rate(elex_data, settings)
    table = rating.table
    rows = range(len(table))
    params = table.values[:, table.column("parameters")]
    cases = [
        ({"model": {"filterType": "text", "type": "contains", "filter": "ResNet"}},
         {r for r in rows if "resnet" in table.models[r].lower()}),
        ({"model": {"filterType": "text", "type": "startsWith", "filter": "mobile"}},
         {r for r in rows if table.models[r].lower().startswith("mobile")}),
        ({"model": {"filterType": "text", "type": "notContains", "filter": "net"}},
         {r for r in rows if "net" not in table.models[r].lower()}),
        ({"compound": {"filterType": "text", "type": "equals", "filter": "b"}},
         {r for r in rows if rating.letter(r) == "B"}),
        ({"parameters": {"filterType": "number", "type": "inRange", "filter": 10, "filterTo": 30}},
         {r for r in rows if 10 <= params[r] <= 30}),
        ({"parameters": {"filterType": "number", "operator": "OR", "conditions": [
            {"filterType": "number", "type": "lessThan", "filter": 5},
            {"filterType": "number", "type": "greaterThan", "filter": 100}]}},
         {r for r in rows if params[r] < 5 or params[r] > 100}),
        ({"parameters": {"filterType": "number", "type": "lessThan", "filter": 10},
          "environment": {"filterType": "text", "type": "contains", "filter": "a100"}},
         {r for r in rows if params[r] < 10 and "a100" in table.labels[table.env_code[r]].lower()}),
    ]
    for model, expected in cases:
        assert expected and _ids(rating, model) == expected, model
    # what the server cannot read is ignored: more rows, never an error
    assert len(_ids(rating, {"nope": {"filterType": "text", "type": "contains", "filter": "x"},
                             "parameters": {"filterType": "number", "type": "lessThan", "filter": "lots"}})) == 176


def test_the_grid_order_follows_a_slider_move(elex_data, settings):
    before = _rate(elex_data, settings)
    after = _rate(elex_data, session.calibrate(settings, elex_data, "inference"))
    assert not np.array_equal(before.compound, after.compound)
    request = {"startRow": 0, "endRow": 200, "sortModel": [{"colId": "compound", "sort": "asc"}]}
    for rating in (before, after):
        letters = [r["compound"] for r in grid.rows_response(rating, request)["rowData"]]
        assert letters == sorted(letters, key=lambda x: "ABCDE–".index(x[0]))


def test_text_left_numbers_right_ratings_coloured(elex_data, settings):
    rating = _rate(elex_data, settings)
    columns = {c["field"]: c for g in grid.column_defs(rating) for c in g.get("children", [g])}
    assert set(columns) == {c["id"] for c in rated_table.table_columns(rating)}
    for key in ("model", "environment", "note"):
        assert columns[key]["cellClass"] == "elex-cell-text" and columns[key]["filter"] == "agTextColumnFilter"
    for key in (*rating.table.metrics, "runs"):
        assert columns[key]["type"] == "rightAligned" and columns[key]["filter"] == "agNumberColumnFilter"
    assert "Ws / sample" in columns["inference_power_draw"]["headerTooltip"]  # the filter's unit
    assert columns["gflops"]["width"] >= 8 * len("11.6 GFLOPs / sample")  # never cut
    for key in ("compound", *(f"{m}__rating" for m in rating.table.metrics)):
        assert columns[key]["cellStyle"] == rated_table.rating_cell_styles(rating)


def test_the_columns_are_sent_again_only_for_new_levels_or_a_new_task(elex_data, settings):
    from mlel.elex import layout as ids
    from mlel.elex.app import create_app
    from tests.elex.test_hostile import _good_values, post

    app = create_app(elex_data)
    client = app.server.test_client()
    shown = grid.columns_key(_rate(elex_data, settings))
    base = {**_good_values(elex_data), f"{ids.GRID_COLUMNS}.data": shown}
    moved = session.calibrate(settings, elex_data, "inference")  # new boundaries: the same columns
    same = post(client, app, f"..{ids.TABLE}.columnDefs", {**base, f"{ids.SETTINGS}.data": moved},
                f"{ids.SETTINGS}.data")
    assert same.status_code == 204 or same.get_json()["response"] == {}  # nothing sent
    stars = session.set_scheme(settings, "ai-energy-score")  # levels "5".."1": cells coloured anew
    new = post(client, app, f"..{ids.TABLE}.columnDefs", {**base, f"{ids.SETTINGS}.data": stars},
               f"{ids.SETTINGS}.data").get_json()["response"]
    assert new[ids.GRID_COLUMNS]["data"] == ["inference", "5", "4", "3", "2", "1", "–"]
    conditions = next(c for c in new[ids.TABLE]["columnDefs"] if c.get("field") == "compound")["cellStyle"]
    assert '"5"' in conditions["styleConditions"][0]["condition"]
