"""ELEx views of what entries carry (issues 13 and 14): "(estimated)" environments, readable log
ticks, typed boundaries that never push neighbours, error bars and probabilities of repeated runs,
"not graded" entries, the empty-selection hint, and elex.py without results."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from mlel.elex import actions, entries, figures, session, state
from mlel.elex import layout as ids
from mlel.elex import table as rated_table
from mlel.elex.__main__ import main as elex_main
from mlel.ratings.settings import SettingsError

X, Y = "inference_power_draw", "top1_val"


def _points(figure):
    return [t for t in figure["data"] if "customdata" in t]


def _entries(elex_data, task="inference"):
    return list(elex_data.table(task).results)


def test_estimated_environments_are_marked_in_checklist_legend_and_bars(elex_data, settings):
    results = _entries(elex_data)
    estimated_env = results[0].environment
    marked = [dataclasses.replace(r, sources={**r.sources, "estimate": "estimated"})
              if r.environment == estimated_env else r for r in results]
    data = state.ElexData.from_results(marked)
    table = data.table("inference")
    label = f"{estimated_env} (estimated)"
    assert [o["label"] for o in ids.environment_options(table)].count(label) == 1
    assert {o["value"] for o in ids.environment_options(table)} == set(table.environments)  # keys unchanged
    scatter, bars, *_ = actions.views(data, settings, "inference", list(table.environments), X, Y, "index")
    assert label in {t["name"] for t in scatter["data"]}
    assert label in bars["data"][0]["y"]
    assert sum(1 for name in bars["data"][0]["y"] if "(estimated)" in name) == 1
    # an environment already named "(estimated)" (the CodeCarbon importer does) is not marked twice
    assert entries.environment_labels(("CPU (estimated)",), [marked[0]], np.array([0])) == ("CPU (estimated)",)


@pytest.mark.parametrize("extent", [(0.2, 0.9), (0.95, 1.08), (0.3, 40.0), (1e-4, 1e3), (0.02, 0.07)])
def test_log_axis_ticks_read_as_their_values(extent):
    ticks = figures.log_ticks(extent)
    assert len(ticks["tickvals"]) >= 2
    for value, text in zip(ticks["tickvals"], ticks["ticktext"]):
        assert extent[0] <= value <= extent[1]
        assert float(text) == pytest.approx(value, rel=1e-6)  # "0.2" at 0.2, never a bare "2"
    assert len(set(ticks["ticktext"])) == len(ticks["ticktext"]) <= 12


def test_scatter_axes_use_the_readable_ticks(elex_data, settings):
    rating = state.rate(elex_data, "inference", settings)
    figure = figures.scatter_figure(rating, "top1_val", "top5_val", list(rating.table.environments), "real")
    axis = figure["layout"]["xaxis"]
    assert axis["tickmode"] == "array" and all(float(t) == pytest.approx(v) for t, v in
                                               zip(axis["ticktext"], axis["tickvals"]))


def test_a_typed_boundary_moves_only_itself_and_never_pushes_its_neighbours(elex_data, settings):
    before = settings["boundaries"]["inference"][X]
    moved = actions.typed_bound(settings, "inference", X, 1, 1.5)
    assert moved["boundaries"]["inference"][X] == [before[0], 1.5, before[2], before[3]]
    for position, value in ((1, before[0] * 2), (2, before[3] / 2), (0, before[1] / 2), (3, -1.0)):
        with pytest.raises(SettingsError, match=f"b{position}"):
            actions.typed_bound(settings, "inference", X, position, value)
    with pytest.raises(SettingsError):
        actions.typed_bound(settings, "inference", X, 0, float("inf"))
    values = {"x": X, "y": Y, "bound_inputs": {"elex-x-b1": before[0] * 2}}
    unchanged, message = actions.apply_event(elex_data, settings, "elex-x-b1", "inference", values)
    assert unchanged == settings and "must lie between" in message and "nothing was changed" in message
    outputs = actions.settings_outputs(elex_data, moved, "inference", X, Y)
    assert list(outputs[-8:-4]) == [float(f"{b:.4g}") for b in moved["boundaries"]["inference"][X]]


def _repeated(entry, factors, not_graded=None):
    runs = tuple({k: (None if v is None else v * f) for k, v in entry.values.items()} for f in factors)
    return dataclasses.replace(entry, run_values=runs, not_graded=not_graded,
                               logs=[f"{entry.logs[0]}#{i}" for i in range(len(factors))])


def test_error_bars_and_probabilities_where_an_entry_pools_runs(elex_data, settings):
    results = _entries(elex_data)
    target = next(i for i, r in enumerate(results) if r.model == "ResNet50")
    results[target] = _repeated(results[target], (0.9, 1.0, 1.1))
    data = state.ElexData.from_results(results)
    rating = state.rate(data, "inference", settings)
    row = rating.table.row(results[target].environment, "ResNet50")
    figure = figures.scatter_figure(rating, X, Y, list(rating.table.environments), "real")
    with_bars = [t for t in _points(figure) if "error_x" in t]
    assert len(with_bars) == 1  # only the environment holding the repeated entry
    trace = with_bars[0]
    position = [c[0] for c in trace["customdata"]].index(row)
    low, high = trace["x"][position] - trace["error_x"]["arrayminus"][position], \
        trace["x"][position] + trace["error_x"]["array"][position]
    value = rating.table.values[row, rating.table.column(X)]
    assert low < value < high and high - low > 0.05 * value
    assert sum(1 for m in trace["error_x"]["array"] if m > 0) == 1  # one-run entries: no bar
    assert "3 runs" in trace["text"][position]
    summary = state.summary(rating, row)
    assert summary["n_runs"] == 3 and summary["compound_p"] is not None
    assert math.isclose(sum(summary["compound_p"].values()), 1.0)
    page = rated_table.table_rows(rating, np.array([row]))[0]
    assert page["runs"] == 3 and page["compound"].endswith("%)")
    one_run = rated_table.table_rows(rating, np.array([0 if row else 1]))[0]
    assert "%" not in one_run["compound"] and one_run["runs"] == 1


def test_not_graded_entries_are_shown_with_the_reason_and_no_letter(elex_data, settings):
    results = _entries(elex_data)
    target = next(i for i, r in enumerate(results) if r.model == "MobileNetV2")
    results[target] = dataclasses.replace(results[target], not_graded="measured window 0.3 s < 2 s")
    data = state.ElexData.from_results(results)
    rating = state.rate(data, "inference", settings)
    row = rating.table.row(results[target].environment, "MobileNetV2")
    figure = figures.scatter_figure(rating, X, Y, list(rating.table.environments), "index")
    trace = next(t for t in _points(figure) if row in [c[0] for c in t["customdata"]])
    position = [c[0] for c in trace["customdata"]].index(row)
    assert "not graded: measured window 0.3 s < 2 s" in trace["text"][position]
    assert trace["marker"]["color"][position] == figures.NOT_GRADED_COLOUR
    page = rated_table.table_rows(rating, np.array([row]))[0]
    assert page["note"] == "not graded: measured window 0.3 s < 2 s" and page["compound"] == "–"
    assert sum(map(sum, state.rating_counts(rating).values())) == len(rating.table) - 1
    assert "not graded: measured window" in str(ids.summary_view(state.summary(rating, row)))


def test_an_empty_environment_selection_shows_a_hint(elex_data, settings):
    scatter, bars, *_ = actions.views(elex_data, settings, "inference", [], X, Y, "index")
    for figure in (scatter, bars):
        assert figure["data"] == [] and "No environment chosen" in figure["layout"]["annotations"][0]["text"]


def test_many_points_are_drawn_as_an_even_sample_that_keeps_the_selected_one():
    rows = np.arange(100_000)
    drawn = figures.drawn_rows(rows, 4000, keep=[77_777])
    assert 4000 <= len(drawn) <= 4001 and 77_777 in drawn
    assert np.array_equal(drawn, figures.drawn_rows(rows, 4000, keep=[77_777]))  # stable between moves
    assert np.all(np.diff(drawn) > 0) and drawn[0] == 0 and drawn[-1] == 99_999
    assert np.array_equal(figures.drawn_rows(rows[:300], 4000), rows[:300])


def test_elex_without_results_explains_how_to_get_some(tmp_path, capsys):
    assert elex_main(["--directory", str(tmp_path / "results")], prog="elex.py") == 1
    message = capsys.readouterr().err
    assert "no such directory" in message
    for hint in ("make demo", "infer.py", "merge_results.py", "python -m mlel.importers"):
        assert hint in message
    assert elex_main(["--directory", str(tmp_path)], prog="elex.py") == 1  # exists, but empty
    assert "make demo" in capsys.readouterr().err


def test_session_weights_are_capped_and_must_be_finite(settings):
    for weight in (1e308, float("inf"), float("nan"), -1, 10**400):
        with pytest.raises((SettingsError, ValueError)):
            session.set_weight(settings, "inference", X, weight)
    assert session.set_weight(settings, "inference", X, 5)["weights"]["inference"][X] == 5.0


def test_an_entry_whose_window_was_not_checked_says_so_in_the_table_and_the_detail(elex_data, settings):
    results = _entries(elex_data)
    target = next(i for i, r in enumerate(results) if r.model == "MobileNetV2")
    said = "window not checked: ML.ENERGY leaderboard does not report its measurement window"
    results[target] = dataclasses.replace(results[target], window_unchecked=said)
    rating = state.rate(state.ElexData.from_results(results), "inference", settings)
    row = rating.table.row(results[target].environment, "MobileNetV2")
    page = rated_table.table_rows(rating, np.array([row]))[0]
    assert page["note"] == said and page["compound"] != "–"  # graded, on the source's word
    assert said in str(ids.summary_view(state.summary(rating, row)))
