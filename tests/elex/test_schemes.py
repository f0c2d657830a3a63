"""ELEx under rating schemes (issue 24): it shows what the pipeline computed — each task's own scheme
and reference by default, any built-in scheme on choice, and no letter without evidence: a level
that is not rated is grey "–" with its reason, never E."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from mlel.ratings import NOT_RATED, RatingOptions, builtin_schemes
from mlel.ratings.report import rate_directory
from mlel.elex import actions, figures, session, state
from mlel.elex import layout as ids
from mlel.elex import grid, link
from mlel.elex import table as rated_table
from mlel.elex.app import create_app
from tests.elex.test_hostile import _response, post

X, Y = "inference_power_draw", "top1_val"
B200, H100 = "1 x B200 - vLLM", "8 x H100 - vLLM"


def _record(model: str, environment: str, energy: float, latency: float, params: float) -> dict:
    """A result record as the ML.ENERGY importer writes it (a task that names no reference model)."""
    hardware = environment.split(" - ")[0]
    prop = lambda value, unit: {"value": value, "unit": unit, "source": "reported"}  # noqa: E731
    return {"schema": "mlee-result/1", "task": "gpqa", "dataset": "GPQA Diamond", "model": model,
            "configuration": {"max_num_seqs": 128, "num_gpus": 1},
            "environment": {"hardware": hardware, "software": "vLLM", "name": environment},
            "properties": {"energy_per_token": prop(energy, "J/token"),
                           "energy_per_response": prop(energy * 900, "J/response"),
                           "median_itl": prop(latency, "ms"), "total_params": prop(params, "billion")},
            "runs": 1, "provenance": {"tool": "ML.ENERGY leaderboard", "file": "tasks/gpqa.json", "row": 0}}


@pytest.fixture(scope="module")
def leaderboard(tmp_path_factory):
    """ML.ENERGY-like records: "Qwen/Qwen3-14B" (the first model, alphabetically) runs on the B200
    only; ELEx once took it for the reference and drew every H100 model a solid E."""
    folder = tmp_path_factory.mktemp("leaderboard")
    rows = [("Qwen/Qwen3-14B", B200, 0.18, 40, 14), ("Qwen/Qwen3-32B", B200, 0.4, 55, 32),
            ("Qwen/Qwen3-8B", B200, 0.12, 30, 8), ("Qwen/Qwen3-32B", H100, 0.5, 60, 32),
            ("Qwen/Qwen3-8B", H100, 0.15, 35, 8), ("meta/Llama-70B", H100, 0.9, 80, 70)]
    for i, row in enumerate(rows):
        (folder / f"gpqa_{i}.json").write_text(json.dumps(_record(*row)))
    return folder


def _cli(directory, **options) -> dict[tuple, dict]:
    """(task, environment, entry) -> the CLI's JSON summary."""
    return {(s["task"], s["environment"], s["entry"]): s
            for s in rate_directory(directory, RatingOptions(**options)).rated}


def _table(rating) -> dict[tuple, dict]:
    """(task, environment, entry) -> ELEx's table row."""
    return {(rating.table.task, rating.table.results[r["id"]].environment, rating.table.models[r["id"]]): r
            for r in rated_table.table_rows(rating)}


def test_an_imported_task_opens_against_the_best_of_each_environment(leaderboard):
    data = state.ElexData.load(leaderboard)
    settings = session.default_settings(data)
    assert data.tasks == ["gpqa"] and settings["reference"] is None  # the task names no reference model
    rating = state.rate(data, "gpqa", settings)
    assert rating.scale == "best" and rating.reference is None and rating.scheme.name == "mlee"
    counts = state.rating_counts(rating)
    assert all(c[4] < sum(c) for c in counts.values())  # no environment is a solid E
    cli = _cli(leaderboard)
    for key, row in _table(rating).items():
        assert row["compound"] == cli[key]["compound"]
    assert actions.control_values(data, settings, "gpqa") == (None, "best", "optimistic median")
    page = json.dumps([c.to_plotly_json() for c in ids.build_page(data, link.defaults(data))], default=str)
    assert ids.NO_REFERENCE_MODEL in page


def test_an_environment_without_the_chosen_reference_is_grey_with_the_reason_never_e(leaderboard):
    data = state.ElexData.load(leaderboard)
    settings = session.set_reference(session.default_settings(data), "Qwen/Qwen3-14B")
    rating = state.rate(data, "gpqa", settings)
    h100 = np.flatnonzero(rating.table.env_code == rating.table.environments.index(H100))
    assert rating.scale == "reference" and (rating.compound[h100] == NOT_RATED).all()
    assert state.rating_counts(rating)[H100] == [0, 0, 0, 0, 0, len(h100)]  # the grey "not rated" count
    cli = _cli(leaderboard, reference="Qwen/Qwen3-14B")
    for key, row in _table(rating).items():
        assert row["compound"] == (cli[key]["compound"] or "–")
        if key[1] == H100:
            assert cli[key]["compound"] is None and row["note"] == f"not rated: {cli[key]['not_rated']}"
    figure = figures.scatter_figure(rating, "energy_per_token", "median_itl", [H100], "index")
    # no index in H100: nothing to place on the index scale; on the real scale the points are grey
    assert "not rated (grey)" in figure["layout"]["title"]["text"]
    real = figures.scatter_figure(rating, "energy_per_token", "median_itl", [H100], "real")
    points = [t for t in real["data"] if "customdata" in t]
    assert {c for t in points for c in t["marker"]["color"]} == {figures.NOT_RATED_COLOUR}
    assert all("not rated: no Qwen/Qwen3-14B" in text for t in points for text in t["text"])
    summary = state.summary(rating, int(h100[0]))
    assert summary["compound"] is None and "not rated: no Qwen/Qwen3-14B" in str(ids.summary_view(summary))
    bars = figures.bar_figure({H100: state.rating_counts(rating)[H100]})
    assert bars["data"][-1]["name"] == figures.NOT_RATED_NAME and bars["data"][-1]["x"] == [len(h100)]


def test_a_missing_value_is_a_grey_dash_not_an_e(elex_data, settings):
    results = list(elex_data.table("inference").results)
    target = next(i for i, r in enumerate(results) if r.model == "MobileNetV2")
    results[target] = dataclasses.replace(results[target], values={**results[target].values, Y: None})
    data = state.ElexData.from_results(results)
    rating = state.rate(data, "inference", settings)
    row = rating.table.row(results[target].environment, "MobileNetV2")
    assert rating.levels[row, rating.table.column(Y)] == NOT_RATED and rating.compound[row] != NOT_RATED
    cell = rated_table.table_rows(rating, np.array([row]))[0]
    assert cell[f"{Y}__rating"] == "–" and cell["compound"] in "ABCDE"
    style = next(c for g in grid.column_defs(rating) for c in g.get("children", [g])
                 if c["field"] == f"{Y}__rating")["cellStyle"]
    assert style == rated_table.rating_cell_styles(rating)  # "–" meets no level's condition: grey
    assert style["defaultStyle"]["backgroundColor"] == rated_table.NOT_RATED_BACKGROUND
    assert not any('"–"' in c["condition"] for c in style["styleConditions"])
    summary = state.summary(rating, row)
    assert summary["metrics"][Y]["rating"] is None and summary["metrics"][Y]["not_rated"] == "no value"
    assert summary["compound_rests_on"] == "3 of 4 weighted metrics"
    old = state.rate(data, "inference", session.set_scheme(settings, "mlee-2022"))  # the 2022 rule: E
    assert old.levels[row, old.table.column(Y)] == 4
    assert rated_table.table_rows(old, np.array([row]))[0][f"{Y}__rating"] == "E"


def test_tasks_are_chosen_by_their_display_names(leaderboard, elex_data):
    assert ids.task_options(elex_data) == [
        {"label": "Image classification inference", "value": "inference", "title": "inference"},
        {"label": "Image classification training", "value": "training", "title": "training"}]
    assert ids.task_options(state.ElexData.load(leaderboard))[0]["label"] == "LLM reasoning (GPQA Diamond)"


def _values(data, settings) -> dict:
    x, y = ids.axis_defaults("inference")
    return {f"{ids.TASK}.value": "inference", f"{ids.X}.value": x, f"{ids.Y}.value": y,
            f"{ids.SCHEME}.value": "", f"{ids.REFERENCE}.value": "ResNet101",
            f"{ids.MODE}.value": "optimistic median", f"{ids.SETTINGS}.data": settings,
            f"{ids.ENVIRONMENTS}.value": list(data.table("inference").environments),
            f"{ids.SCALE}.value": "index", f"{ids.X_WEIGHT}.value": 1.0, f"{ids.Y_WEIGHT}.value": 1.0}


def test_a_new_task_lets_the_pinned_model_go(elex_data, settings):
    app = create_app(elex_data)
    client = app.server.test_client()
    x, y = ids.axis_defaults("training")
    values = {**_values(elex_data, settings), f"{ids.TASK}.value": "training", f"{ids.X}.value": x,
              f"{ids.Y}.value": y}
    changed = _response(post(client, app, f"..{ids.ENVIRONMENTS}.options", values, f"{ids.TASK}.value"))
    assert changed[ids.SELECTED]["data"] is None and changed[ids.PREVIEW]["data"] is None
    pinned = {"task": "inference", "environment": elex_data.table("inference").environments[0], "model": "ResNet50"}
    shown = _response(post(client, app, f"..{ids.LABEL}.src", {**values, f"{ids.SELECTED}.data": pinned},
                           f"{ids.SELECTED}.data"))
    assert shown[ids.LABEL]["src"].startswith("data:image/png")
    cleared = _response(post(client, app, f"..{ids.LABEL}.src", {**values, f"{ids.SELECTED}.data": None},
                             f"{ids.SELECTED}.data"))
    assert cleared[ids.LABEL]["src"] is None and "Nothing pinned" in str(cleared[ids.PINNED]["children"])
    assert "Hover over a model" in json.dumps(cleared[ids.SUMMARY]["children"])
    # the settings follow the new task: its own reference, the scheme's scale
    tuned = session.set_reference(session.set_scale(settings, elex_data, "best"), "ResNet50")
    response = _response(post(client, app, f"..{ids.SETTINGS}.data",
                              {**values, f"{ids.SETTINGS}.data": tuned}, f"{ids.TASK}.value"))
    assert response[ids.SETTINGS]["data"]["reference"] == "ResNet101"
    assert response[ids.SETTINGS]["data"]["scale"] is None
    assert response[ids.RATING_SCALE]["value"] == "reference"


@pytest.mark.parametrize("scheme", sorted(builtin_schemes()))
def test_the_scheme_chooser_rates_as_the_clis_scheme_option(reference_dir, elex_data, settings, scheme):
    chosen, message = actions.apply_event(elex_data, settings, ids.SCHEME, "inference", {"scheme": scheme})
    assert chosen["scheme"] == scheme and builtin_schemes()[scheme].title in message
    for task in elex_data.tasks:
        rating = state.rate(elex_data, task, chosen)
        cli = _cli(reference_dir, scheme=scheme)
        for key, row in _table(rating).items():
            expected = cli[key]
            assert row["compound"] == (expected["compound"] or "–"), (scheme, key)
            for metric, value in expected["metrics"].items():
                assert row[f"{metric}__rating"] == (value["rating"] or "–"), (scheme, key, metric)
    changes = not np.array_equal(state.rate(elex_data, "inference", chosen).compound,
                                 state.rate(elex_data, "inference", settings).compound)
    assert changes == (scheme in ("strep", "ai-energy-score"))  # the 2022 logs all have their reference


def test_the_scheme_chooser_through_http_sets_the_controls(elex_data, settings):
    app = create_app(elex_data)
    client = app.server.test_client()
    values = {**_values(elex_data, settings), f"{ids.SCHEME}.value": "strep"}
    response = _response(post(client, app, f"..{ids.SETTINGS}.data", values, f"{ids.SCHEME}.value"))
    assert response[ids.SETTINGS]["data"]["scheme"] == "strep" and "STREP" in response[ids.MESSAGE]["children"]
    assert response[ids.RATING_SCALE]["value"] == "best"  # STREP indexes against the best of each environment
    strep = state.rate(elex_data, "inference", response[ids.SETTINGS]["data"])
    assert response[f"{ids.X_BOUNDS}"]["value"] and strep.boundaries[X] != settings["boundaries"]["inference"][X]


def test_star_schemes_show_their_level_labels(elex_data, settings):
    stars = session.set_scheme(settings, "ai-energy-score")
    rating = state.rate(elex_data, "inference", stars)
    assert rating.level_labels == ("5", "4", "3", "2", "1", "–") and rating.per_group
    rows = rated_table.table_rows(rating)
    assert {r["compound"] for r in rows} <= set(rating.level_labels)
    scatter, bars, x_text, _ = actions.views(elex_data, stars, "inference", list(rating.table.environments), X, Y,
                                             "index")
    assert [t["name"] for t in bars["data"]] == ["5", "4", "3", "2", "1", figures.NOT_RATED_NAME]
    assert "★" in json.dumps([t.get("text") for t in scatter["data"]], ensure_ascii=False)
    assert "per group" in x_text and not scatter["layout"]["shapes"]  # boundaries of each group: no one set
    summary = state.summary(rating, 0)
    assert summary["compound"] in ("5", "4", "3", "2", "1") and summary["level_style"] == "stars"
    assert "elex-rating-" in str(ids.summary_view(summary))
    spec_values = {"x": X, "y": Y, "x_bounds": [0.1, 0.2, 0.3, 0.4]}
    same, message = actions.apply_event(elex_data, stars, ids.X_BOUNDS, "inference", spec_values)
    assert same == stars and "choose another scheme" in message


def test_a_slider_under_a_scheme_of_group_made_boundaries_fixes_them_where_they_are(elex_data, settings):
    """STREP's quantile boundaries: one handle moved, the others stay where STREP put them."""
    strep = session.set_scheme(settings, "strep")
    before = state.rate(elex_data, "inference", strep)
    moved = actions.typed_bound(strep, "inference", X, 1, (before.boundaries[X][0] + before.boundaries[X][1]) / 2,
                                dict(before.boundaries))
    after = state.rate(elex_data, "inference", moved)
    assert after.boundaries[Y] == pytest.approx(before.boundaries[Y])  # not back to the 2022 defaults
    assert after.boundaries[X][1] != before.boundaries[X][1] and after.scheme.name == "strep"


def test_a_reference_chosen_is_one_to_index_against(elex_data, settings):
    """On the best scale (STREP), picking a reference model switches to the reference scale."""
    strep = session.set_scheme(settings, "strep")
    chosen, message = actions.apply_event(elex_data, strep, ids.REFERENCE, "inference", {"reference": "ResNet50"})
    rating = state.rate(elex_data, "inference", chosen)
    assert rating.scale == "reference" and rating.reference == "ResNet50" and "ResNet50" in message
    assert actions.control_values(elex_data, chosen, "inference")[:2] == ("ResNet50", "reference")
    cli = _cli(elex_data.directory, scheme="strep", scale="reference", reference="ResNet50")
    for key, row in _table(rating).items():
        assert row["compound"] == (cli[key]["compound"] or "–")
