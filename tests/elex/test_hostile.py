"""ELEx under hostile input (issue 15): forged callback payloads POSTed to /_dash-update-component
get a message or no update, never HTTP 500; uploads are validated; the page shows no absolute
server path; skipped files are listed by name; huge model names cannot stall a worker."""
from __future__ import annotations

import base64
import dataclasses
import json
import time

import pytest

from mlel.elex import actions, figures, session, state
from mlel.elex import layout as ids
from mlel.elex.app import create_app
from mlel.elex.entries import MAX_NAME_CHARS
from mlel.ratings.settings import SettingsError


@pytest.fixture(scope="module")
def app(elex_data):
    return create_app(elex_data)


@pytest.fixture
def client(app):
    return app.server.test_client()


def _good_values(elex_data) -> dict:
    settings = session.default_settings(elex_data)
    table = elex_data.table("inference")
    x, y = ids.axis_defaults("inference")
    values = {
        f"{ids.TASK}.value": "inference", f"{ids.X}.value": x, f"{ids.Y}.value": y,
        f"{ids.REFERENCE}.value": "ResNet101", f"{ids.MODE}.value": settings["mode"],
        f"{ids.ENVIRONMENTS}.value": list(table.environments), f"{ids.SCALE}.value": "index",
        f"{ids.SETTINGS}.data": settings, f"{ids.SELECTED}.data": None,
        f"{ids.TABLE}.getRowsRequest": {"startRow": 0, "endRow": 50, "sortModel": [], "filterModel": {}},
        f"{ids.X_WEIGHT}.value": 1.0, f"{ids.Y_WEIGHT}.value": 1.0, f"{ids.URL}.search": "?t=inference",
    }
    return values


def post(client, app, output_prefix: str, values: dict, changed: str):
    """POST one callback as the browser does, every input from ``values`` (None where absent)."""
    key = next(k for k in app.callback_map if k.startswith(output_prefix))
    spec = app.callback_map[key]
    if key.startswith(".."):
        outputs = [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]}
                   for o in key.strip(".").split("...")]
    else:
        outputs = {"id": key.split(".")[0], "property": key.split(".")[1]}
    entries = {kind: [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in spec[kind]]
               for kind in ("inputs", "state")}
    body = {"output": key, "outputs": outputs, **entries, "changedPropIds": [changed]}
    return client.post("/_dash-update-component", json=body)


def _response(response) -> dict:
    assert response.status_code in (200, 204), response.get_data(as_text=True)[:500]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    return json.loads(text)["response"] if response.status_code == 200 else {}


FORGED = [None, "inference", "../../etc/passwd", 1e308, -1, True, [], [None], ["x"] * 3, {"a": {"b": [1]}},
          "x" * 100_000, float("nan")]
# (callback output prefix, the input forged)
TARGETS = [
    (f"..{ids.SETTINGS}.data", f"{ids.TASK}.value"), (f"..{ids.SETTINGS}.data", f"{ids.X}.value"),
    (f"..{ids.SETTINGS}.data", f"{ids.X_BOUNDS}.value"), (f"..{ids.SETTINGS}.data", f"{ids.X_WEIGHT}.value"),
    (f"..{ids.SETTINGS}.data", "elex-x-b1.value"), (f"..{ids.SETTINGS}.data", f"{ids.SETTINGS}.data"),
    (f"..{ids.SETTINGS}.data", f"{ids.REFERENCE}.value"), (f"..{ids.SETTINGS}.data", f"{ids.MODE}.value"),
    (f"..{ids.SETTINGS}.data", f"{ids.SCHEME}.value"), (f"..{ids.SETTINGS}.data", f"{ids.RATING_SCALE}.value"),
    (f"..{ids.SETTINGS}.data", f"{ids.UPLOAD_WEIGHTS}.contents"),
    (f"..{ids.SCATTER}.figure", f"{ids.ENVIRONMENTS}.value"), (f"..{ids.SCATTER}.figure", f"{ids.SCALE}.value"),
    (f"..{ids.SCATTER}.figure", f"{ids.SELECTED}.data"), (f"..{ids.SCATTER}.figure", f"{ids.X}.value"),
    (f"..{ids.SCATTER}.figure", f"{ids.SETTINGS}.data"),
    (f"{ids.TABLE}.getRowsResponse", f"{ids.TABLE}.getRowsRequest"),
    (f"{ids.TABLE}.getRowsResponse", f"{ids.SETTINGS}.data"), (f"..{ids.TABLE}.columnDefs", f"{ids.SETTINGS}.data"),
    (f"{ids.SELECTED}.data", f"{ids.SCATTER}.clickData"), (f"{ids.SELECTED}.data", f"{ids.TABLE}.cellClicked"),
    (f"{ids.SELECTED}.data", f"{ids.TABLE}.selectedRows"),
    (f"{ids.PAGE}.children", f"{ids.URL}.search"), (f"{ids.LINK}.data", f"{ids.SELECTED}.data"),
    (f"{ids.LINK}.data", f"{ids.ENVIRONMENTS}.value"), (f"{ids.LINK}.data", f"{ids.SETTINGS}.data"),
    (f"{ids.PREVIEW}.data", f"{ids.SCATTER}.hoverData"),
    (f"..{ids.LABEL}.src", f"{ids.SELECTED}.data"), (f"..{ids.LABEL}.src", f"{ids.PREVIEW}.data"),
    (f"{ids.LABEL}.className", f"{ids.LABEL}.n_clicks"),
    (f"..{ids.ENVIRONMENTS}.options", f"{ids.TASK}.value"),
    (f"..{ids.DOWNLOAD}.data", f"{ids.GET_LABEL}.n_clicks"),
]


@pytest.mark.parametrize("target", TARGETS, ids=[f"{o.strip('.').split('.')[0]}<-{i}" for o, i in TARGETS])
def test_forged_callback_input_never_gives_a_server_error(app, client, elex_data, target):
    output, forged_input = target
    base = _good_values(elex_data)
    for forged in FORGED:
        values = {**base, forged_input: forged}
        if forged_input == f"{ids.SELECTED}.data" and forged is None:
            values[forged_input] = {"task": ["x"], "environment": {}, "model": 1e308}
        _response(post(client, app, output, values, forged_input))


def test_forged_grid_requests_get_at_most_one_block_and_never_an_error(app, client, elex_data):
    base = _good_values(elex_data)
    for request in ({"startRow": 0, "endRow": 10**9}, {"startRow": -5, "endRow": "x"},
                    {"sortModel": [{"colId": ["x"], "sort": 1}, "x", {"colId": "compound", "sort": "desc"}]},
                    {"filterModel": {"model": {"filterType": "text", "type": "contains", "filter": {"a": 1}},
                                     "top1_val": {"filterType": "number", "type": "inRange", "filter": "1e999"},
                                     "compound": {"operator": "OR", "conditions": [None, 1, {"type": "equals"}]},
                                     "x" * 5000: {"filterType": "text", "type": "contains", "filter": "a"}}},
                    {"filterModel": {"model": {"filterType": "text", "type": "contains", "filter": "y" * 10_000}}}):
        response = _response(post(client, app, f"{ids.TABLE}.getRowsResponse",
                                  {**base, f"{ids.TABLE}.getRowsRequest": request}, f"{ids.TABLE}.getRowsRequest"))
        rows = response[ids.TABLE]["getRowsResponse"]["rowData"] if response else []
        assert len(rows) <= 200


def test_a_hostile_link_opens_the_default_page_with_a_note(app, client, elex_data):
    base = _good_values(elex_data)
    for search in ("?t=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "?t=inference&b=top1_val:" + "9," * 50_000,
                   "?t=inference&" + "e=x&" * 5000, "?t=inference&pe=%00&pm=" + "M" * 100_000, "?%%%", 12, ["?t=x"]):
        response = _response(post(client, app, f"{ids.PAGE}.children", {**base, f"{ids.URL}.search": search},
                                  f"{ids.URL}.search"))
        page = json.dumps(response)
        assert ids.TABLE in page and "Traceback" not in page
        note = _find(response[ids.PAGE]["children"], ids.LINK_NOTE)["props"]["children"]
        assert len(note) < 2000 and ("could not be opened" in note or note == "")


def test_forged_clicks_and_stores_shaped_like_the_real_ones(app, client, elex_data):
    base = _good_values(elex_data)
    for click in ({"points": [{"customdata": ["1", "a"]}]}, {"points": [None]}, {"points": "x"},
                  {"points": [{"customdata": [10**30]}]}, {"points": [{"customdata": [float("inf")]}]}):
        _response(post(client, app, f"{ids.SELECTED}.data", {**base, f"{ids.SCATTER}.clickData": click},
                       f"{ids.SCATTER}.clickData"))
    store = {"reference": ["x"], "mode": 3, "boundaries": {"inference": {"top1_val": [1e308, "a", None, -1]}},
             "weights": {"inference": {"top1_val": 1e308, "parameters": float("inf")}, "training": []},
             "scheme": {"a": 1}, "scale": ["best"], "calibrate": {"inference": "yes", "training": [1]}}
    _response(post(client, app, f"..{ids.SCATTER}.figure", {**base, f"{ids.SETTINGS}.data": store},
                   f"{ids.SETTINGS}.data"))


def test_a_weight_of_1e308_gives_a_message_and_changes_nothing(app, client, elex_data):
    base = _good_values(elex_data)
    response = _response(post(client, app, f"..{ids.SETTINGS}.data", {**base, f"{ids.X_WEIGHT}.value": 1e308},
                              f"{ids.X_WEIGHT}.value"))
    assert "Error" in response[ids.MESSAGE]["children"] and "finite" in response[ids.MESSAGE]["children"]
    assert response[ids.SETTINGS]["data"]["weights"] == base[f"{ids.SETTINGS}.data"]["weights"]


def _upload(content: str) -> str:
    return "data:application/json;base64," + base64.b64encode(content.encode()).decode()


@pytest.mark.parametrize("content,why", [
    ('{"top1_val": [NaN, 1, 0.9, 0.8]}', "finite"),
    ('{"top1_val": [Infinity, 1, 0.9, 0.8]}', "finite"),
    ('{"top1_val": [1.1, 1, -0.9, -1]}', "positive"),
    ('{"top1_val": [1, 1.1, 0.9, 0.8]}', "descend"),
    ('{"top1_val": [0, 0, 0, 0]}', "positive"),
])
def test_invalid_boundary_uploads_are_refused_with_a_message(settings, content, why):
    with pytest.raises(SettingsError, match=why):
        session.apply_boundaries_upload(settings, session.decode_upload(_upload(content), "b.json"))


@pytest.mark.parametrize("content", ['{"top1_val": NaN}', '{"top1_val": Infinity}', '{"top1_val": -1}',
                                     '{"top1_val": 1e308}', '{"inference": {"top1_val": 1e400}}'])
def test_invalid_weight_uploads_are_refused_with_a_message(settings, content):
    with pytest.raises(SettingsError, match="weight"):
        session.apply_weights_upload(settings, session.decode_upload(_upload(content), "w.json"))


def test_upload_through_http_says_what_is_wrong(app, client, elex_data):
    base = _good_values(elex_data)
    values = {**base, f"{ids.UPLOAD_BOUNDARIES}.contents": _upload('{"top1_val": [NaN, 1, 0.9, 0.8]}'),
              f"{ids.UPLOAD_BOUNDARIES}.filename": "b.json"}
    response = _response(post(client, app, f"..{ids.SETTINGS}.data", values, f"{ids.UPLOAD_BOUNDARIES}.contents"))
    assert "finite" in response[ids.MESSAGE]["children"] and "nothing was changed" in response[ids.MESSAGE]["children"]


def test_the_page_shows_no_absolute_server_path(reference_dir):
    app = create_app(reference_dir.resolve())
    layout = app.server.test_client().get("/_dash-layout").get_data(as_text=True)
    assert str(reference_dir.resolve()) not in layout and str(reference_dir.parent) not in layout
    assert "from results" in layout  # the folder's own name is enough


def test_skipped_files_are_listed_by_name_with_the_reason(tmp_path, reference_dir):
    for log in sorted(reference_dir.glob("*.json"))[:12]:
        (tmp_path / log.name).symlink_to(log)
    (tmp_path / "broken_log.json").write_text('{"config": [')
    (tmp_path / "config_is_a_list.json").write_text('{"config": [], "execution_platform": "x"}')
    layout = create_app(tmp_path).server.test_client().get("/_dash-layout").get_data(as_text=True)
    assert "2 file(s) skipped" in layout
    for name in ("broken_log.json", "config_is_a_list.json"):
        assert name in layout
    problems = _find(json.loads(layout), ids.PROBLEMS)
    items = [str(i["props"]["children"]) for i in problems["props"]["children"][1]["props"]["children"]]
    assert sorted(i.split(":")[0] for i in items) == ["broken_log.json", "config_is_a_list.json"]
    assert all(len(i) > len("config_is_a_list.json: ") for i in items)  # the reason follows the name


def _find(node, component_id):
    """The component with ``component_id`` in a /_dash-layout JSON tree."""
    if isinstance(node, list):
        return next((f for f in (_find(n, component_id) for n in node) if f), None)
    if isinstance(node, dict):
        props = node.get("props") or {}
        if props.get("id") == component_id:
            return node
        return _find(props.get("children"), component_id)
    return None


def test_a_huge_model_name_is_capped_and_cannot_stall_a_worker(elex_data, settings):
    table = elex_data.table("inference")
    huge = dataclasses.replace(table.results[0], model="M" * 100_000)
    data = state.ElexData.from_results([huge, *table.results[1:]])
    rating = state.rate(data, "inference", settings)
    row = rating.table.row(huge.environment, huge.model)
    start = time.perf_counter()
    src, note = actions.label_source(state.summary(rating, row))
    figure = figures.scatter_figure(rating, "parameters", "top1_val", list(rating.table.environments))
    view = ids.summary_view(state.summary(rating, row))
    assert time.perf_counter() - start < 5.0
    assert src and not note
    titles = [t for trace in figure["data"] for t in trace.get("text", ())]
    assert max(len(t.split("<br>")[0]) for t in titles) <= MAX_NAME_CHARS + 5
    assert "M" * (MAX_NAME_CHARS + 1) not in str(view)
