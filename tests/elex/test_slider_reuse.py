"""What a boundary-slider move reuses (issue 12: a move must stay fast at 100,000 entries) gives
exactly what computing afresh gives: the pipeline's ratings, the same figure, the same table order."""
from __future__ import annotations

import copy
import math
import random

import numpy as np
import pytest

from mlel import ratings
from mlel.ratings import RatingOptions, engine
from mlel.ratings.engine import COMPOUND_MODES
from mlel.elex import actions, figures, points, session, sliders, state
from mlel.elex import layout as ids
from mlel.elex import table as rated_table

X, Y = "inference_power_draw", "top1_val"


def _pipeline_rating(data, task, settings):
    """Levels and compound of the whole table from the pipeline, called as the CLI calls it (the
    entries in the order the reader gave them), mapped to the table's rows."""
    table = data.table(task)
    order = table.pipeline_order
    found = ratings.rate_task([table.results[i] for i in order.tolist()], table.properties, RatingOptions(
        reference=settings["reference"], boundaries=settings["boundaries"][task],
        weights=settings["weights"][task] or None, mode=settings["mode"]))
    levels, compound = np.empty_like(found.levels), np.empty_like(found.compound)
    levels[order], compound[order] = found.levels, found.compound
    return levels, compound


def _drag(data, settings, task, metric, fraction):
    """Settings after dragging handle b1 of ``metric`` ``fraction`` of the way towards b0."""
    spec = sliders.slider_spec(state.rate(data, task, settings), metric)
    value = list(spec.value)
    value[2] += (value[3] - value[2]) * fraction
    values = {"x": metric, "y": Y, "x_bounds": value}
    moved, message = actions.apply_event(data, settings, ids.X_BOUNDS, task, values)
    assert not message
    return moved


def _fresh(data):
    """The same entries in a new ElexData: nothing remembered yet."""
    return state.ElexData.from_results([r for t in data.tables.values() for r in t.results])


@pytest.mark.parametrize("mode", COMPOUND_MODES)
def test_slider_moves_rate_exactly_as_the_pipeline_does(elex_data, settings, mode):
    rng = random.Random(mode)
    data = _fresh(elex_data)
    table = data.table("inference")
    current = session.set_mode(settings, mode)
    for step in range(12):
        metric = rng.choice(table.metrics)
        if step % 4 == 3:  # another reference: remembered ratings of the old one must not be used
            current = session.set_reference(current, rng.choice(table.reference_models))
        if step % 3 == 2:
            current = session.set_weight(current, "inference", metric, rng.choice([0.5, 1.0, 2.0, 3.0]))
        current = _drag(data, current, "inference", metric, rng.uniform(0.1, 0.9))
        rating = state.rate(data, "inference", current)
        levels, compound = _pipeline_rating(data, "inference", current)
        assert rating.levels.dtype == levels.dtype and np.array_equal(rating.levels, levels)
        assert rating.compound.dtype == compound.dtype and np.array_equal(rating.compound, compound)


def test_the_callbacks_of_a_slider_move_rate_once(elex_data, settings, monkeypatch):
    """One move: on_settings, the views, the table and the detail share one call of the pipeline's
    re-rating step, and none of its basis step (the move changes no reference, scale or scheme)."""
    data = _fresh(elex_data)
    state.rate(data, "inference", settings)
    calls, bases = [], []
    original, original_basis = state.rate_basis, state.task_basis
    monkeypatch.setattr(state, "rate_basis", lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    monkeypatch.setattr(state, "task_basis", lambda *a, **k: bases.append(1) or original_basis(*a, **k))
    moved = _drag(data, settings, "inference", X, 0.5)
    environments = list(data.table("inference").environments)
    pinned = {"task": "inference", "environment": environments[0], "model": "ResNet101"}
    actions.settings_outputs(data, moved, "inference", X, Y)
    actions.views(data, moved, "inference", environments, X, Y, "index", pinned)
    rated_table.table_page(state.rate(data, "inference", moved), 0, 15)
    actions.selected_summary(data, moved, pinned)
    assert len(calls) == 1 and bases == []


@pytest.mark.parametrize("scale", figures.SCALES)
def test_a_figure_after_a_move_equals_one_drawn_afresh(elex_data, settings, scale):
    data = _fresh(elex_data)
    table = data.table("inference")
    environments = list(table.environments)
    chosen = environments if scale == "index" else environments[:1]
    pinned = (table.results[100].environment, table.models[100])
    before = state.rate(data, "inference", settings)
    figures.scatter_figure(before, X, Y, chosen, scale, pinned, max_points=60)
    moved = _drag(data, _drag(data, settings, "inference", X, 0.7), "inference", Y, 0.4)
    after = state.rate(data, "inference", moved)
    assert not np.array_equal(before.compound, after.compound)  # the move changed letters
    reused = figures.scatter_figure(after, X, Y, chosen, scale, pinned, max_points=60)
    fresh = _fresh(elex_data)
    assert reused == figures.scatter_figure(state.rate(fresh, "inference", moved), X, Y, chosen, scale, pinned,
                                            max_points=60)
    assert points.point_layer(before, X, Y, chosen, scale, 100, 60) is \
        points.point_layer(after, X, Y, chosen, scale, 100, 60)  # built once, kept across moves
    other = session.set_reference(moved, "ResNet50")  # positions, hover texts and bars change
    drawn = figures.scatter_figure(state.rate(data, "inference", other), X, Y, chosen, scale, pinned, max_points=60)
    assert drawn == figures.scatter_figure(state.rate(_fresh(elex_data), "inference", other), X, Y, chosen, scale,
                                           pinned, max_points=60)
    assert scale == "real" or drawn["data"][1]["x"] != reused["data"][1]["x"]


def test_a_figure_is_its_callers_own(elex_data, settings):
    """The parts a slider move reuses are shared by every session: changing a figure one callback
    returned must not change the next one."""
    rating = state.rate(elex_data, "inference", settings)
    environments = list(rating.table.environments)
    pinned = (rating.table.results[5].environment, rating.table.models[5])
    first = figures.scatter_figure(rating, X, Y, environments, "index", pinned)
    kept = copy.deepcopy(first)
    for trace in first["data"]:
        for value in trace.values():
            if isinstance(value, list):
                value.append("changed")
                for item in value:
                    if isinstance(item, list):
                        item.append("changed")
            elif isinstance(value, dict):
                value["changed"] = True
                for item in value.values():
                    if isinstance(item, list):
                        item.append("changed")
    assert figures.scatter_figure(rating, X, Y, environments, "index", pinned) == kept


def _oracle(rating, sort_by, keep=None):
    """Row order by plain Python: stable sorts from the last key to the first, missing values last,
    text compared in lower case."""
    table = rating.table
    rows = list(range(len(table))) if keep is None else list(keep)
    texts = {"model": list(table.models),
             "environment": [(table.labels or table.environments)[c] for c in table.env_code.tolist()],
             "compound": [engine.RATINGS[c] for c in rating.compound.tolist()]}
    for order in reversed(sort_by):
        column, descending = order["column_id"], order["direction"] == "desc"
        if column in table.metrics:
            values = table.values[:, table.column(column)].tolist()
            rows.sort(key=lambda r: (math.isnan(values[r]), 0.0 if math.isnan(values[r])
                                     else -values[r] if descending else values[r]))
        else:
            lower = [t.lower() for t in texts[column]]
            rank = {t: i for i, t in enumerate(sorted(set(lower)))}
            rows.sort(key=lambda r: -rank[lower[r]] if descending else rank[lower[r]])
    return rows


@pytest.mark.parametrize("sort_by", [
    [{"column_id": X, "direction": "asc"}],
    [{"column_id": "compound", "direction": "asc"}, {"column_id": Y, "direction": "desc"}],
    [{"column_id": "compound", "direction": "desc"}],
    [{"column_id": "environment", "direction": "desc"}, {"column_id": "model", "direction": "asc"}],
])
def test_table_order_after_a_move_is_that_of_the_new_rating(elex_data, settings, sort_by):
    data = _fresh(elex_data)
    before = state.rate(data, "inference", settings)
    moved = session.calibrate(settings, data, "inference")
    after = state.rate(data, "inference", moved)
    assert not np.array_equal(before.compound, after.compound)
    for rating in (before, after, before):
        ids_shown = [r["id"] for page in range(3)
                     for r in rated_table.table_page(rating, page, 40, sort_by)[0]]
        assert ids_shown == _oracle(rating, sort_by)[:120]
        letters = [r["compound"] for r in rated_table.table_page(rating, 0, 200, sort_by)[0]]
        assert letters == [rating.letter(r) for r in _oracle(rating, sort_by)]


def test_text_filters_match_every_row_as_before(elex_data, settings):
    rating = state.rate(elex_data, "inference", settings)
    table = rating.table
    labels = [(table.labels or table.environments)[c] for c in table.env_code.tolist()]
    cases = {"{model} icontains net": [r for r in range(len(table)) if "net" in table.models[r].lower()],
             "{environment} contains a100": [r for r in range(len(table)) if "a100" in labels[r].lower()],
             "{compound} = b": [r for r in range(len(table)) if rating.letter(r) == "B"],
             "{model} > m": [r for r in range(len(table)) if table.models[r].lower() > "m"]}
    for query, expected in cases.items():
        assert expected, query
        shown = [r["id"] for r in rated_table.table_page(rating, 0, 200, None, query)[0]]
        assert shown == expected, query
