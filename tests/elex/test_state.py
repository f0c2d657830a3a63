"""ELEx state: a session's view rates exactly like the CLI's pipeline; transitions are pure."""
from __future__ import annotations

import base64
import copy
import json

import numpy as np
import pytest

from mlel.runlog.logs import load_logs
from mlel.ratings import (COMPOUND_MODES, NOT_RATED, RatingOptions, aggregate_runs,
                          rate_results)
from mlel.ratings.settings import SettingsError
from mlel.elex import session, sliders, state


def _core(reference_dir, **options):
    runs, _ = load_logs(reference_dir)
    rated, _ = rate_results(aggregate_runs(runs), RatingOptions(**options))
    return rated


def _assert_same(elex_data, settings, core):
    for expected in core:
        rating = state.rate(elex_data, expected["task"], settings)
        row = rating.table.row(expected["environment"], expected["model"])
        got = state.summary(rating, row)
        assert got["compound"] == expected["compound"], expected["model"]
        for key, metric in expected["metrics"].items():
            assert got["metrics"][key]["rating"] == metric["rating"], (expected["model"], key)
            if metric["index"] is None:
                assert got["metrics"][key]["index"] is None
            else:
                assert got["metrics"][key]["index"] == pytest.approx(metric["index"], rel=1e-12)


@pytest.mark.parametrize("mode", COMPOUND_MODES)
def test_rate_matches_the_rating_core_in_every_mode(reference_dir, elex_data, settings, mode):
    _assert_same(elex_data, session.set_mode(settings, mode), _core(reference_dir, mode=mode))


def test_rate_matches_the_core_with_another_reference_and_weights(reference_dir, elex_data, settings):
    weights = {"inference": {"inference_power_draw": 3, "top1_val": 0.5, "gflops": 1.5, "parameters": 0},
               "training": {"train_power_draw": 2, "train_time": 0, "top5_val": 1}}
    ours = session.apply_weights_upload(session.set_reference(settings, "ResNet50"), weights)
    _assert_same(elex_data, ours, _core(reference_dir, reference="ResNet50", weights=weights))


def test_calibrate_matches_the_core(reference_dir, elex_data, settings):
    core = _core(reference_dir, calibrate=True)
    for task in ("inference", "training"):
        calibrated = session.calibrate(settings, elex_data, task)
        _assert_same(elex_data, calibrated, [r for r in core if r["task"] == task])
        assert state.rate(elex_data, task, calibrated).boundaries != state.rate(elex_data, task, settings).boundaries


@pytest.mark.parametrize("scheme, level", [(None, NOT_RATED), ("mlee-2022", 4)])
def test_missing_reference_gives_no_index(elex_data, settings, scheme, level):
    """No reference in an environment: not rated under the honest default, E under the 2022 scheme."""
    chosen = session.set_reference(session.set_scheme(settings, scheme), "EfficientNetB7")
    rating = state.rate(elex_data, "inference", chosen)
    table = rating.table
    without = 0
    for env_code, env in enumerate(table.environments):
        rows = np.flatnonzero(table.env_code == env_code)
        if table.row(env, "EfficientNetB7") is None:
            without += 1
            assert np.isnan(rating.indices[rows]).all()
            assert (rating.levels[rows] == level).all() and (rating.compound[rows] == level).all()
            assert all((rating.reason(r) is not None) == (scheme is None) for r in rows.tolist())
    assert without


def test_shared_data_is_read_only_and_transitions_are_pure(elex_data, settings):
    table = elex_data.table("inference")
    with pytest.raises(ValueError):
        table.values[0, 0] = 1.0
    before = copy.deepcopy(settings)
    values_before = table.values.copy()
    session.set_boundaries(settings, "inference", "top1_val", [1.1, 1.0, 0.9, 0.8])
    session.set_weight(settings, "inference", "gflops", 2)
    session.calibrate(settings, elex_data, "inference")
    state.rate(elex_data, "inference", settings)
    assert settings == before
    assert np.array_equal(table.values, values_before, equal_nan=True)


def test_invalid_transitions_raise(settings):
    with pytest.raises(SettingsError):
        session.set_boundaries(settings, "inference", "top1_val", [0.8, 0.9, 1.0, 1.1])
    with pytest.raises(ValueError):
        session.set_weight(settings, "inference", "gflops", -1)
    zero = settings
    for key in ("inference_power_draw", "inference_time", "top1_val"):
        zero = session.set_weight(zero, "inference", key, 0)
    with pytest.raises(ValueError, match="weight > 0"):
        session.set_weight(zero, "inference", "parameters", 0)
    with pytest.raises(ValueError):
        session.set_mode(settings, "loudest")


def _upload(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return "data:application/json;base64," + base64.b64encode(raw).decode()


def test_boundaries_upload_flat_and_per_task(settings):
    flat = session.apply_boundaries_upload(settings, {"top1_val": [1.2, 1.1, 1.0, 0.9]})
    assert flat["boundaries"]["inference"]["top1_val"] == [1.2, 1.1, 1.0, 0.9]
    assert flat["boundaries"]["training"]["top1_val"] == [1.2, 1.1, 1.0, 0.9]
    per_task = session.apply_boundaries_upload(settings, {"training": {"train_time": [4, 3, 2, 1]}})
    assert per_task["boundaries"]["training"]["train_time"] == [4, 3, 2, 1]
    assert per_task["boundaries"]["inference"] == settings["boundaries"]["inference"]
    downloaded = json.loads(json.dumps(session.boundaries_file(flat)))
    assert session.apply_boundaries_upload(settings, downloaded)["boundaries"] == flat["boundaries"]


def test_weights_upload_round_trip(settings):
    new = session.apply_weights_upload(settings, {"gflops": 2})
    assert new["weights"]["inference"]["gflops"] == 2 and new["weights"]["training"]["gflops"] == 2
    downloaded = session.weights_file(new)  # the weights in use: the defaults with the uploaded over them
    assert downloaded["inference"]["gflops"] == 2 and downloaded["inference"]["top1_val"] == 1
    assert session.weights_file(session.apply_weights_upload(settings, downloaded)) == downloaded


@pytest.mark.parametrize("contents, name, message", [
    (_upload("{not json"), "b.json", "not valid JSON"),
    (_upload("[1, 2]"), "b.json", "expected an object"),
    (_upload('{"top1_val": [0.9, 1.0, 1.1, 1.2]}'), "b.json", "descend"),
    (_upload('{"loudness": [4, 3, 2, 1]}'), "b.json", "unknown metric"),
    (_upload('{"top1_val": [1, 2]}'), "b.json", "four numbers"),
    (_upload(b"\xff\xfe\x00binary"), "b.json", "UTF-8"),
    (_upload("{}"), "boundaries.txt", "only .json"),
    (_upload(" " * (session.MAX_UPLOAD_BYTES + 10) + "{}"), "b.json", "larger than"),
    ("data:application/json;base64,@@@", "b.json", "UTF-8"),
    ("hello", "b.json", "not a file upload"),
])
def test_bad_boundaries_uploads_raise_a_message(settings, contents, name, message):
    with pytest.raises(SettingsError, match=message):
        session.apply_boundaries_upload(settings, session.decode_upload(contents, name))


@pytest.mark.parametrize("content, message", [
    ({"gflops": -1}, "non-negative"), ({"gflops": "heavy"}, "non-negative"), ({"speed": 1}, "unknown metric"),
    ({"inference": {"inference_power_draw": 0, "inference_time": 0, "top1_val": 0, "parameters": 0}},
     "weight > 0"),
])
def test_bad_weights_raise(settings, content, message):
    with pytest.raises(SettingsError, match=message):
        session.apply_weights_upload(settings, content)


def test_clean_settings_survives_forged_stores(elex_data, settings):
    for forged in (None, 3, "x", {"mode": "loud", "boundaries": {"inference": {"top1_val": "x"}}},
                   {"boundaries": [1], "weights": {"inference": {"top1_val": -3}}},
                   {"weights": {"inference": {k: 0 for k in session.effective_weights(settings, "inference")}}},
                   {"scheme": ["strep"], "scale": {"x": 1}, "calibrate": [1], "reference": 3}):
        cleaned = session.clean_settings(forged, elex_data)
        assert cleaned == settings
        state.rate(elex_data, "inference", cleaned)
    assert session.clean_settings(settings, elex_data) == settings
    tuned = session.set_boundaries(settings, "inference", "top1_val", [1.1, 1.0, 0.9, 0.8])
    assert session.clean_settings(json.loads(json.dumps(tuned)), elex_data) == tuned


def test_slider_round_trip_keeps_untouched_handles_exact(elex_data, settings):
    rating = state.rate(elex_data, "inference", settings)
    for metric in rating.table.metrics:
        spec = sliders.slider_spec(rating, metric)
        current = settings["boundaries"]["inference"][metric]
        assert spec.min < spec.max and len(spec.marks) >= 2
        assert all(spec.min <= v <= spec.max for v in spec.value)
        assert sliders.bounds_from_slider(spec.value, current, spec) == current
        moved = list(spec.value)
        moved[3] = min(spec.max, moved[3] + 50 * spec.step)  # drag b0 right
        new = sliders.bounds_from_slider(moved, current, spec)
        assert new[1:] == current[1:] and new[0] == pytest.approx(10 ** moved[3])


def test_load_from_rated_summaries_rates_the_same(reference_dir, elex_data, settings):
    core = _core(reference_dir)
    from_summaries = state.ElexData.load(core)
    _assert_same(from_summaries, settings, core)
    assert from_summaries.n_logs == 232 and from_summaries.directory is None


def test_rating_counts_cover_every_row(elex_data, settings):
    rating = state.rate(elex_data, "training", settings)
    counts = state.rating_counts(rating)
    assert sum(sum(c) for c in counts.values()) == len(rating.table) == 56


def test_imported_records_of_another_task_are_explored_and_tuned(tmp_path, reference_dir):
    import shutil

    shutil.copy(reference_dir / "infer_2022_03_03_17_21_20.json", tmp_path)
    for model, energy in (("ref", 2.0), ("lean", 0.5)):
        record = {"schema": "mlee-result/1", "task": "generic", "model": model,
                  "environment": {"hardware": "B200", "software": "vLLM", "name": "B200 - vLLM"},
                  "properties": {"energy_per_sample": {"value": energy, "unit": "J/sample", "source": "reported"}},
                  "provenance": {"tool": "test"}}
        (tmp_path / f"{model}.json").write_text(json.dumps(record))
    data = state.ElexData.load(tmp_path)
    assert data.tasks == ["inference", "generic"] and data.n_logs == 3 and not data.problems
    settings = session.set_reference(session.default_settings(data), "ref")
    rating = state.rate(data, "generic", settings)
    lean = rating.table.row("B200 - vLLM", "lean")
    assert rating.indices[lean, rating.table.column("energy_per_sample")] == pytest.approx(4.0)
    tuned = session.set_boundaries(settings, "generic", "energy_per_sample", [5.0, 3.0, 2.0, 1.0])
    assert session.clean_settings(json.loads(json.dumps(tuned)), data) == tuned  # kept by the store
    assert state.summary(state.rate(data, "generic", tuned), lean)["metrics"]["energy_per_sample"]["rating"] == "B"
    with pytest.raises(SettingsError, match="unknown metric"):
        session.set_boundaries(settings, "generic", "top1_val", [5.0, 3.0, 2.0, 1.0])


def test_uploads_keep_the_settings_of_other_tasks():
    settings = {"reference": "ref", "mode": "best",
                "boundaries": {"inference": {}, "training": {}, "generic": {"quality": [4.0, 3.0, 2.0, 1.0]}},
                "weights": {"inference": {"top1_val": 1.0}, "training": {"top1_val": 1.0},
                            "generic": {"quality": 2.0}}}
    new = session.apply_weights_upload(session.apply_boundaries_upload(settings, {"top1_val": [1.2, 1.1, 1.0, 0.9]}),
                                       {"top1_val": 3})
    assert new["boundaries"]["generic"] == {"quality": [4.0, 3.0, 2.0, 1.0]} and new["weights"]["generic"] == {"quality": 2.0}
    assert new["boundaries"]["inference"]["top1_val"] == [1.2, 1.1, 1.0, 0.9] and new["weights"]["training"]["top1_val"] == 3
