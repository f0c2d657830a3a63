"""One settings validator (issue #23): the ratings CLI and ELEx refuse the same boundaries and
weights with the same words, naming the file and the key; what ELEx took before it still takes."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from mlel.base.values import boundaries_problem
from mlel.elex import session
from mlel.ratings.settings import MAX_WEIGHT, SettingsError, check_bounds, check_weight, load_boundaries, load_weights
from mlel.tasks.properties import builtin_tasks

BAD_BOUNDS = [
    ([math.nan, 1, 0.5, 0], "finite"),
    ([math.inf, 1, 0.5, 0], "finite"),
    ([1, 0.9, 0.5, -0.1], "positive"),
    ([0, 0, 0, 0], "positive"),
    ([1, 1.1, 0.5, 0], "descend"),
    ([1, 0.5, 0], "four numbers"),
    ([1, 0.5, True, 0], "four numbers"),
    ("1234", "four numbers"),
]
BAD_WEIGHTS = [math.inf, math.nan, -1, 1e9, 10 ** 400, "2", True, None]


@pytest.fixture(scope="module")
def one_log(reference_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("logs")
    shutil.copy(reference_dir / "infer_2022_03_03_17_21_20.json", folder)
    return folder


def _ratings(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlel.ratings", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("bounds, words", BAD_BOUNDS[:5])
def test_cli_refuses_bad_boundaries_naming_file_and_key(one_log, tmp_path, bounds, words):
    path = tmp_path / "bounds.json"
    path.write_text(json.dumps({"inference_power_draw": bounds}))  # NaN / Infinity: Python's JSON literals
    out = _ratings("--directory", one_log, "--boundaries", path)
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    assert "bounds.json: 'inference_power_draw': boundaries" in out.stderr and words in out.stderr


@pytest.mark.parametrize("weight", ["Infinity", "NaN", "1e9", "-1"])
def test_cli_refuses_bad_weights_naming_file_and_key(one_log, tmp_path, weight):
    path = tmp_path / "w.json"
    path.write_text('{"inference": {"top1_val": %s}}' % weight)
    out = _ratings("--directory", one_log, "--weights", path)
    assert out.returncode == 2 and out.stdout == ""
    assert "w.json: 'inference.top1_val': weight must be a finite, non-negative number" in out.stderr


@pytest.mark.parametrize("bounds, words", BAD_BOUNDS)
def test_elex_and_the_files_say_the_same_words(tmp_path, bounds, words):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"top1_val": bounds}))
    with pytest.raises(SettingsError, match=words) as from_file:
        load_boundaries(path)
    with pytest.raises(SettingsError) as from_elex:  # ELEx's own entry point: a slider or box edit
        session.set_boundaries(session.default_settings(), "inference", "top1_val", bounds)
    file_words = str(from_file.value).removeprefix("b.json: 'top1_val': ")
    assert str(from_elex.value) == f"'inference.top1_val': {file_words}"


@pytest.mark.parametrize("weight", BAD_WEIGHTS)
def test_bad_weights_are_refused_everywhere(tmp_path, weight):
    with pytest.raises(SettingsError, match="weight must be a finite, non-negative number") as from_file_rule:
        check_weight(weight, "training.gflops")
    assert str(from_file_rule.value).startswith("'training.gflops': ")
    if weight is not None:  # ELEx's weight box: the same rule, the same words
        with pytest.raises(SettingsError) as from_elex:
            session.set_weight(session.default_settings(), "training", "gflops", weight)
        assert str(from_elex.value) == str(from_file_rule.value)
    if not (isinstance(weight, float) and not math.isfinite(weight)):  # strict JSON has no NaN / inf
        path = tmp_path / "w.json"
        path.write_text(json.dumps({"gflops": weight}))
        with pytest.raises(SettingsError, match="w.json: 'gflops': weight"):
            load_weights(path)


def test_what_elex_took_it_still_takes():
    for task in builtin_tasks().values():  # every built-in default boundary and weight
        for key, bounds in task.default_boundaries().items():
            assert check_bounds(bounds, f"{task.task}.{key}") == [float(b) for b in bounds]
            assert check_bounds(tuple(bounds), key, "x.json") == [float(b) for b in bounds]
        for key, weight in task.default_weights().items():
            assert check_weight(weight, key) == weight
    assert check_bounds([2, 2, 1, 0], "k") == [2.0, 2.0, 1.0, 0.0]  # ties and b3 = 0 are fine
    assert check_weight(MAX_WEIGHT, "inference.top1_val") == 1e6
    assert check_weight(0, "inference.top1_val") == 0.0


def _finite(number) -> bool:
    try:
        return math.isfinite(float(number))
    except OverflowError:  # an int beyond any float
        return False


numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10 ** 400, 10 ** 400))


@hsettings(max_examples=300, deadline=None)
@given(st.lists(numbers, min_size=3, max_size=5))
def test_one_rule_for_any_four_numbers(bounds):
    problem = boundaries_problem(bounds)
    good = (len(bounds) == 4 and all(_finite(b) for b in bounds) and all(b >= 0 for b in bounds)
            and bounds[0] > 0 and bounds == sorted(bounds, reverse=True))
    assert (problem is None) == good
    try:
        elex = check_bounds(bounds, "inference.top1_val")
    except SettingsError as error:
        assert not good and str(error).endswith(problem)
    else:
        assert good and elex == check_bounds(bounds, "top1_val", "b.json")
