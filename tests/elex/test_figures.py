"""ELEx figures and callback helpers, without a browser."""
from __future__ import annotations

import base64
import importlib.util
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mlel.ratings.rated import ModelResult
from mlel.ratings import RATING_COLORS, RATINGS
from mlel.elex import callbacks, figures, session, sliders, state
from mlel.elex import layout as ids
from mlel.elex import table as rated_table

X, Y = "inference_power_draw", "top1_val"


def _points(figure):
    return [t for t in figure["data"] if "customdata" in t]  # legend twins and the ring have none


def test_scatter_colours_are_compound_ratings_and_symbols_environments(elex_data, settings):
    rating = state.rate(elex_data, "inference", settings)
    environments = list(rating.table.environments)
    figure = figures.scatter_figure(rating, X, Y, environments, "index")
    traces = _points(figure)
    assert len(traces) == len(environments)
    assert len({t["marker"]["symbol"] for t in traces}) == len(environments)
    assert sum(len(t["x"]) for t in traces) == 176
    for trace in traces:
        for (row, *_), colour, x in zip(trace["customdata"], trace["marker"]["color"], trace["x"]):
            assert colour == RATING_COLORS[rating.letter(row)]
            assert x == pytest.approx(rating.indices[row, rating.table.column(X)], rel=1e-4)
    rects = [s for s in figure["layout"]["shapes"] if s["type"] == "rect"]
    assert len(rects) == 25 and {r["fillcolor"] for r in rects} <= set(RATING_COLORS.values())
    json.dumps(figure)  # plain JSON: nothing plotly-specific to serialise


def test_scatter_follows_environments_axes_and_scale(elex_data, settings):
    rating = state.rate(elex_data, "inference", settings)
    one = [rating.table.environments[0]]
    figure = figures.scatter_figure(rating, "parameters", "inference_time", one, "real")
    assert len(_points(figure)) == 1 and len(_points(figure)[0]["x"]) == 22
    assert "Parameters [M]" in figure["layout"]["xaxis"]["title"]["text"]
    assert any(s["type"] == "rect" for s in figure["layout"]["shapes"])  # one environment: bands
    several = figures.scatter_figure(rating, X, Y, list(rating.table.environments[:2]), "real")
    assert not several["layout"]["shapes"]
    assert "exactly one environment" in several["layout"]["title"]["text"]
    assert _points(figures.scatter_figure(rating, X, Y, [], "index")) == []


def test_background_cells_follow_the_engine_bands(elex_data, settings):
    # index scale: x bands E (left) .. A (right); the cell colour is the compound of its two bands
    rating = state.rate(elex_data, "inference", settings)
    shapes = figures.background_shapes(rating, X, Y, "index", list(rating.table.environments),
                                       (0.1, 10.0), (0.5, 2.0))
    rects = [s for s in shapes if s["type"] == "rect"]
    leftmost = min(rects, key=lambda r: (r["x0"], r["y0"]))
    rightmost = max(rects, key=lambda r: (r["x0"], r["y0"]))
    assert leftmost["fillcolor"] == RATING_COLORS["E"] and rightmost["fillcolor"] == RATING_COLORS["A"]
    x_bounds = settings["boundaries"]["inference"][X]
    assert sorted({r["x0"] for r in rects}) == [0.1] + sorted(b for b in x_bounds if 0.1 < b < 10.0)


def test_bars_and_table(elex_data, settings):
    rating = state.rate(elex_data, "training", settings)
    counts = state.rating_counts(rating)
    bars = figures.bar_figure(counts)
    assert [t["name"] for t in bars["data"]] == [*RATINGS, figures.NOT_RATED_NAME]
    assert sum(sum(t["x"]) for t in bars["data"]) == 56
    rows = rated_table.table_rows(rating)
    columns = {c["id"] for c in rated_table.table_columns(rating)}
    assert len(rows) == 56 and set(rows[0]) - {"id"} == columns
    assert all(r["compound"] == rating.letter(r["id"]) for r in rows)


def test_table_and_hover_show_values_with_sensible_units(elex_data, settings):
    """Issue 14 item 8: "21.5 MB", "84.4 %", "94.3 mWh / epoch", never 21460000 or 9.43e-05."""
    rating = state.rate(elex_data, "training", settings)
    row = next(r for r in rated_table.table_rows(rating) if r["model"] == "ResNet50")
    column = rating.table.column
    raw = rating.table.values[row["id"]]
    assert row["top1_val"] == f"{raw[column('top1_val')] * 100:.1f} %"
    assert row["fsize"].endswith(" MB") and float(row["fsize"][:-3]) == pytest.approx(raw[column("fsize")] / 1e6, rel=5e-3)
    assert row["train_power_draw_epoch"].endswith("Wh / epoch") and "e-" not in row["train_power_draw_epoch"]
    figure = figures.scatter_figure(rating, "fsize", "top1_val", list(rating.table.environments), "real")
    hover = [c for t in _points(figure) for c in t["customdata"] if c[0] == row["id"]][0]
    assert hover[1] == row["fsize"] and hover[2] == row["top1_val"]


def test_label_of_the_selected_model_is_the_real_label(elex_data, settings):
    rating = state.rate(elex_data, "inference", settings)
    src, note = callbacks.label_source(state.summary(rating, 0))
    assert note == "" and src.startswith("data:image/png;base64,")
    src, note = callbacks.label_source({"task": "inference"})  # a summary the label cannot draw
    assert src is None and note.startswith("label could not be drawn")


def test_summary_says_when_energy_is_estimated():
    # one entry whose energy came from the TDP estimate: ELEx's summary and its view must say so
    entry = ModelResult("inference", "EPYC 7742 - PyTorch 2.1", "ResNet101", ["infer_x.json"],
                        {"inference_power_draw": 0.5, "top1_val": 0.7}, sources={"estimate": "estimated"},
                        energy_ws=25000.0)
    data = state.ElexData.load([entry])
    rating = state.rate(data, "inference", session.default_settings(data))
    summary = state.summary(rating, 0)
    assert summary["energy"]["estimated"] is True and summary["energy"]["sources"] == {"estimate": "estimated"}
    assert "— estimated" in str(ids.summary_view(summary)[2].children)
    measured = state.ElexData.load([ModelResult(**{**entry.__dict__, "sources": {"pynvml": "measured"}})])
    assert state.summary(state.rate(measured, "inference", session.default_settings(measured)), 0)[
        "energy"]["estimated"] is False


def test_selection_and_summary_never_trust_the_browser(elex_data, settings):
    assert callbacks.selection(elex_data, "inference", 0)["task"] == "inference"
    for row in (None, -1, 10**6, True, "3", [[1]], ["1"], [], float("nan"), float("inf"), {"row": 1}):
        assert callbacks.selection(elex_data, "inference", row) is None
    # a point's customdata is [row, x text, y text]: the row is its first element
    assert callbacks.selection(elex_data, "inference", [1, "x", "y"]) == callbacks.selection(elex_data, "inference", 1)
    assert callbacks.selection(elex_data, "cooking", 0) is None
    for forged in (None, "x", {"task": "inference", "environment": "../../etc", "model": "passwd"},
                   {"task": ["inference"]}):
        assert callbacks.selected_summary(elex_data, settings, forged) is None


def test_downloads(elex_data, settings, reference_dir):
    selected = {"task": "inference", "environment": "A100 x8 - TensorFlow 2.8.0", "model": "ResNet50"}
    summary = callbacks.selected_summary(elex_data, settings, selected)
    sent = callbacks.download(elex_data, summary, ids.GET_SUMMARY)
    assert json.loads(sent["content"])["model"] == "ResNet50" and sent["filename"].endswith(".json")
    log = callbacks.download(elex_data, summary, ids.GET_LOG)
    raw = base64.b64decode(log["content"]) if log["base64"] else log["content"].encode()
    assert raw == (Path(reference_dir) / summary["logs"][0]).read_bytes()
    several = dict(summary, logs=summary["logs"] * 2)
    archive = callbacks.download(elex_data, several, ids.GET_LOG)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(archive["content"]))) as handle:
        assert handle.namelist() == summary["logs"] * 2
        assert handle.read(summary["logs"][0]) == (Path(reference_dir) / summary["logs"][0]).read_bytes()
    pdf = callbacks.download(elex_data, summary, ids.GET_LABEL)
    assert base64.b64decode(pdf["content"]).startswith(b"%PDF")
    from_summaries = state.ElexData.load([summary])
    with pytest.raises(ValueError, match="results directory"):
        callbacks.download(from_summaries, summary, ids.GET_LOG)


def test_bad_upload_event_changes_nothing(elex_data, settings):
    values = dict.fromkeys(("reference", "mode", "x", "y", "x_bounds", "y_bounds", "x_weight", "y_weight",
                            "weights_file", "weights_name"))
    values.update(boundaries_file="data:application/json;base64," + base64.b64encode(b"{oops").decode(),
                  boundaries_name="b.json")
    new, message = callbacks.apply_event(elex_data, settings, ids.UPLOAD_BOUNDARIES, "inference", values)
    assert new == settings and message.startswith("Error:") and "nothing was changed" in message


def test_slider_event_changes_ratings(elex_data, settings):
    rating = state.rate(elex_data, "inference", settings)
    spec = sliders.slider_spec(rating, X)
    moved = list(spec.value)
    moved[3] = spec.max  # b0 to the top of the range: fewer A
    values = dict(x=X, y=Y, x_bounds=moved)
    new, message = callbacks.apply_event(elex_data, settings, ids.X_BOUNDS, "inference", values)
    assert not message and new["boundaries"]["inference"][X][0] > settings["boundaries"]["inference"][X][0]
    after = state.rate(elex_data, "inference", new)
    column = rating.table.column(X)
    assert (after.levels[:, column] == 0).sum() < (rating.levels[:, column] == 0).sum()


def _fresh_elex():
    spec = importlib.util.spec_from_file_location("elex_under_test", Path(__file__).parents[2] / "elex.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_elex_cli_defaults_are_safe(monkeypatch, reference_dir):
    elex = _fresh_elex()
    calls = {}
    monkeypatch.setattr("dash.Dash.run", lambda self, **kwargs: calls.update(kwargs))
    assert elex.main(["--directory", str(reference_dir)]) == 0
    assert calls == {"host": "127.0.0.1", "port": 8888, "debug": False}
    assert elex.main(["--directory", str(reference_dir / "no-such-dir")]) == 1


def test_module_level_server_for_wsgi(monkeypatch, reference_dir):
    monkeypatch.setenv("ELEX_DIRECTORY", str(reference_dir))
    elex = _fresh_elex()
    server = elex.server
    assert server is elex.server  # built once per process
    client = server.test_client()
    assert client.get("/").status_code == 200
    big = client.post("/_dash-update-component", data=b"x" * (1 << 21), content_type="application/json")
    assert big.status_code == 413
    assert server.config["MAX_CONTENT_LENGTH"] < 1 << 21
    with pytest.raises(AttributeError):
        elex.nothing_here


def test_rows_numpy_types_are_plain(elex_data, settings):
    rating = state.rate(elex_data, "inference", settings)
    rows = rated_table.table_rows(rating, np.arange(3))
    json.dumps(rows)
    assert all(type(r["id"]) is int for r in rows)


def test_table_page_filters_sorts_and_pages_on_the_server(elex_data, settings):
    rating = state.rate(elex_data, "inference", settings)
    rows, pages = rated_table.table_page(rating, 0, 15)
    assert len(rows) == 15 and pages == 12  # 176 rows
    rows, pages = rated_table.table_page(rating, 0, 200, None, "{model} icontains resnet && {environment} contains A100")
    assert pages == 1 and rows and all("resnet" in r["model"].lower() and "A100" in r["environment"] for r in rows)
    rows, _ = rated_table.table_page(rating, 0, 200, [{"column_id": "top1_val", "direction": "desc"}])
    raw = rating.table.values[:, rating.table.column("top1_val")]
    accuracies = [None if raw[r["id"]] != raw[r["id"]] else float(raw[r["id"]]) for r in rows]
    present = [a for a in accuracies if a is not None]
    assert present == sorted(present, reverse=True) and accuracies[: len(present)] == present  # missing last
    rows, _ = rated_table.table_page(rating, 0, 200, [{"column_id": "compound", "direction": "asc"},
                                                  {"column_id": "model", "direction": "asc"}], "{compound} = B")
    assert {r["compound"] for r in rows} == {"B"} and [r["model"].lower() for r in rows] == sorted(
        r["model"].lower() for r in rows)
    rows, _ = rated_table.table_page(rating, 0, 200, None, "{parameters} < 10 && {inference_power_draw} >= 0.5")
    values, column = rating.table.values, rating.table.column
    assert rows and all(values[r["id"], column("parameters")] < 10 and
                        values[r["id"], column("inference_power_draw")] >= 0.5 for r in rows)
    last, pages = rated_table.table_page(rating, 999, 15)  # past the end: the last page
    assert pages == 12 and len(last) == 176 - 11 * 15
    assert rated_table.table_page(rating, 0, 15, [{"column_id": "nope"}], "{nope} > 1 && rubbish")[1] == 12
    assert rated_table.table_page(rating, 0, 15, None, "{parameters} > lots")[0] == []
