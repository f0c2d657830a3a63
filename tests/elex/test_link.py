"""Shareable ELEx views (issue 26): a view -> its link -> the same view; a malformed link opens the
defaults with a note, never an error."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from mlel.elex import link, session, state
from mlel.elex.link import View

METRIC = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
TEXT = st.text(min_size=1, max_size=40)
NUMBER = st.floats(allow_nan=False, allow_infinity=False)
VIEWS = st.builds(
    View, task=TEXT, environments=st.one_of(st.none(), st.lists(TEXT, max_size=4).map(tuple)),
    x=st.none() | METRIC, y=st.none() | METRIC, plot_scale=st.sampled_from(link.PLOT_SCALES),
    scheme=st.none() | TEXT, reference=st.none() | TEXT, rating_scale=st.none() | TEXT, mode=st.none() | TEXT,
    boundaries=st.dictionaries(METRIC, st.tuples(NUMBER, NUMBER, NUMBER, NUMBER), max_size=3),
    weights=st.dictionaries(METRIC, NUMBER, max_size=3), calibrate=st.booleans(),
    pinned=st.none() | st.tuples(TEXT, TEXT))


@hypothesis_settings(max_examples=300, deadline=None)
@given(VIEWS)
def test_every_view_reads_back_from_its_link(view):
    query = link.encode(view)
    assert query.startswith("?v=1&t=") and "#" not in query and " " not in query
    decoded, notes = link.decode(query)
    assert notes == [] and decoded == view
    for metric, bounds in view.boundaries.items():  # the very same floats, not rounded
        assert all(math.copysign(1, a) == math.copysign(1, b) and a == b
                   for a, b in zip(decoded.boundaries[metric], bounds))


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_decodes_without_raising(text):
    view, notes = link.decode(text)
    assert view is None or isinstance(view, View)
    assert all(isinstance(n, str) for n in notes)


@pytest.fixture
def shared_view(elex_data):
    """A view someone shared: another reference, a boundary moved, a weight, one entry pinned."""
    settings = session.default_settings(elex_data)
    table = elex_data.table("inference")
    settings = session.set_reference(settings, "ResNet50")
    settings = session.set_boundaries(settings, "inference", "top1_val", [1.2, 1.05, 0.93, 0.81])
    settings = session.set_weight(settings, "inference", "parameters", 0.0)
    environments = list(table.environments[:3])
    selected = {"task": "inference", "environment": table.results[5].environment, "model": table.models[5]}
    return settings, environments, selected


def test_a_link_restores_the_view_and_rates_the_same(elex_data, shared_view):
    settings, environments, selected = shared_view
    view = link.view_of(elex_data, settings, "inference", environments, "parameters", "top1_val", "real", selected)
    restored = link.restore(elex_data, link.encode(view))
    assert restored.notes == ()
    assert (restored.task, restored.environments, restored.x, restored.y, restored.plot_scale) == \
        ("inference", environments, "parameters", "top1_val", "real")
    assert restored.selected == selected
    assert restored.settings == session.clean_settings(settings, elex_data)
    before, after = state.rate(elex_data, "inference", settings), state.rate(elex_data, "inference", restored.settings)
    assert (before.compound == after.compound).all() and before.boundaries == after.boundaries
    assert before.reference == after.reference == "ResNet50" and before.weights == after.weights


def test_the_default_view_has_a_short_link_and_opens_as_the_defaults(elex_data):
    settings = session.default_settings(elex_data)
    table = elex_data.table("inference")
    view = link.view_of(elex_data, settings, "inference", list(table.environments), None, None, "index", None)
    assert link.encode(view) == "?v=1&t=inference"
    restored = link.restore(elex_data, link.encode(view))
    assert restored.notes == () and restored.settings == settings and restored.selected is None
    assert restored.environments == list(table.environments)


@pytest.mark.parametrize("query,words", [
    ("?t=no-such-task", "no task 'no-such-task'"),
    ("?garbage", "names no task"),
    ("?" + "t=inference&" * 500, "too many parts"),
    ("?t=inference&b=top1_val:1.2,1.0,0.9", "is not four numbers"),  # truncated
    ("?t=inference&b=top1_val:1.2,1.0,0.9,nan", "is not four numbers"),
    ("?t=inference&b=top1_val:1e999,1,0.9,0.8", "is not four numbers"),
    ("?t=inference&b=top1_val:0.8,0.9,1.0,1.2", "must descend"),
    ("?t=inference&b=nope:4,3,2,1", "no metric 'nope'"),
    ("?t=inference&w=top1_val:-1", "weight must be"),
    ("?t=inference&w=top1_val:1e308", "weight must be"),
    ("?t=inference&w=top1_val:0&w=top5_val:0&w=parameters:0&w=gflops:0&w=fsize:0&w=inference_power_draw:0"
     "&w=inference_time:0", "no metric a weight > 0"),
    ("?t=inference&r=%3Cscript%3Ealert(1)%3C/script%3E", "unknown reference '<script>"),
    ("?t=inference&s=nope&m=nope&i=nope", "unknown scheme 'nope'"),
    ("?t=inference&x=../../etc/passwd", "no metric '../../etc/passwd'"),
    ("?t=inference&e=nowhere", "no environment 'nowhere'"),
    ("?t=inference&pe=nowhere&pm=VGG16", "no entry 'VGG16'"),
    ("?t=inference&pe=only-half", "incomplete"),
    ("?t=inference&p=sideways", "unknown plot scale"),
    ("?t=%FF%FE", "no task"),
    ("?t=" + "x" * 20_000, "longer than"),
])
def test_a_malformed_link_opens_the_defaults_with_a_note(elex_data, query, words):
    restored = link.restore(elex_data, query)
    assert any(words in note for note in restored.notes), restored.notes
    defaults = session.default_settings(elex_data)
    assert restored.task in elex_data.tasks
    table = elex_data.table(restored.task)
    assert set(restored.environments) <= set(table.environments)
    assert restored.settings == session.clean_settings(restored.settings, elex_data)  # valid as it stands
    assert restored.settings["boundaries"]["inference"] == defaults["boundaries"]["inference"]
    assert all(len(note) < 400 for note in restored.notes)


def test_good_parts_of_a_link_survive_a_bad_one(elex_data):
    restored = link.restore(elex_data, "?t=training&r=VGG16&b=top1_val:1.2,1.0,0.9,0.8&w=nope:1&pe=x")
    assert restored.task == "training" and restored.settings["reference"] == "VGG16"
    assert restored.settings["boundaries"]["training"]["top1_val"] == [1.2, 1.0, 0.9, 0.8]
    assert len(restored.notes) == 2
