"""The boundary check of merged logs: real logs pass untouched, every hostile field is named."""
from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings

from hostile_logs import REFERENCE_RESULTS, hostile_cases, load, mutated_logs, training_log_path
from mlel.base.errors import InputError
from mlel.runlog.logs import parse_log
from mlel.runlog.validation import FieldProblem, InvalidLogError, check_merged_log, parse_json

pytestmark = pytest.mark.skipif(not REFERENCE_RESULTS.is_dir(), reason="../shared reference logs missing")


def _outcome(raw: bytes) -> tuple[str, str]:
    """('value', problems) when the log is usable, ('skip', reason) when it is not — as the one
    reader of merged logs (which adds the energy sum's own checks to the boundary check) sees it."""
    try:
        run = parse_log(parse_json(raw), "hostile.json")
    except (InputError, ValueError) as error:
        return "skip", str(error)
    return "value", "; ".join(map(str, run.problems))


def test_the_232_reference_logs_have_no_problem():
    for path in sorted(REFERENCE_RESULTS.glob("*.json")):
        checked = check_merged_log(parse_json(path.read_bytes()))
        assert checked.problems == (), path.name
        assert checked.invalid == frozenset()


def test_checked_values_are_the_logs_own():
    log = load()
    checked = check_merged_log(log)
    assert checked.task == "inference" and checked.model == "VGG16" and checked.backend == "tensorflow"
    assert checked.values["params"] == log["validation"]["results"]["model"]["params"]
    assert checked.values["accuracy"] == log["validation"]["results"]["metrics"]["accuracy"]
    assert checked.values["n_samples"] is None  # the 2022 logs did not record it
    run = parse_log(log, "x.json")
    assert run.sources == {"pynvml": "measured"} and run.problems == ()
    assert run.energy_ws == log["validation"]["monitoring_pynvml"]["total"]["total_power_draw"]


@pytest.mark.parametrize("name,path,raw", list(hostile_cases()), ids=[c[0] for c in hostile_cases()])
def test_every_hostile_log_is_named_never_a_traceback(name, path, raw):
    kind, message = _outcome(raw)
    assert message, f"{name}: accepted without a word"
    if path is not None:  # the energy sum names its sources without the split's prefix
        assert path.removeprefix("validation.") in message, f"{name}: {message}"


@pytest.mark.parametrize("field,value,invalid", [
    ("n_samples", 0, "n_samples"),  # once silently 50,000 (EfficientNetB0 D -> A)
    ("accuracy", 67.05, "accuracy"),  # a percentage once lifted a model from B to A
    ("n_samples", float("inf"), "n_samples"),
])
def test_an_invalid_value_is_dropped_and_marked_not_defaulted(field, value, invalid):
    log = copy.deepcopy(load())
    log["validation"]["results"]["metrics"][field] = value
    checked = check_merged_log(log)
    assert checked.values[field] is None
    assert invalid in checked.invalid
    [problem] = [p for p in checked.problems if p.key == invalid]  # the record names what it breaks
    assert problem.json_path == f"validation.results.metrics.{field}" and problem.value == repr(value)


@pytest.mark.parametrize("energy", [-1.0, float("nan"), float("inf"), "37442", [1]])
def test_an_invalid_energy_makes_the_energy_invalid_not_smaller(energy):
    log = copy.deepcopy(load(training_log_path()))
    log["monitoring_pynvml"]["total"]["total_power_draw"] = energy
    run = parse_log(log, "t.json")
    assert run.energy_ws is None and "energy" in run.invalid  # not the other sources' sum
    assert any(p.json_path.endswith("monitoring_pynvml.total.total_power_draw") and p.key == "energy"
               and p.file == "t.json" for p in run.problems)


def test_psutil_minus_one_means_no_power_not_a_problem():
    run = parse_log(load(training_log_path()), "t.json")
    assert "psutil" not in run.sources and run.problems == () and run.energy_ws > 0


def test_nan_literals_of_2022_training_logs_parse():
    assert math.isnan(parse_json(b'{"a": NaN}')["a"])


def test_structure_errors_raise_with_every_problem():
    log = copy.deepcopy(load())
    log["requirements"] = ["torch==1", 5]
    with pytest.raises(InvalidLogError) as caught:
        check_merged_log(log)
    assert caught.value.problems == (FieldProblem("log", "requirements[1]", "5", "Expected `str`, got `int`"),)
    assert str(caught.value) == "requirements[1] = 5: Expected `str`, got `int`"
    assert caught.value.exit_code == 1


# ------------------------------------------------------------------------------------------------
# generated mutations of real logs: never a traceback, always named

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_logs())
def test_mutated_real_logs_never_raise_unexpectedly(raw):
    _outcome(raw)  # only InputError / ValueError may leave the check, each with a message


def test_each_invalid_metric_names_the_problem_of_its_own_input():
    """Problems are typed records: a metric finds its input's problem by key, never by parsing text."""
    from mlel.runlog.metrics import invalid_metrics

    log = copy.deepcopy(load())
    log["validation"]["results"]["metrics"].update(accuracy=67.05, n_samples=0)
    log["validation"]["duration"] = -3.0
    run = parse_log(log, "x.json")
    assert [(p.key, p.json_path, p.value, p.file) for p in run.problems] == [
        ("duration_s", "validation.duration", "-3.0", "x.json"),
        ("accuracy", "validation.results.metrics.accuracy", "67.05", "x.json"),
        ("n_samples", "validation.results.metrics.n_samples", "0", "x.json")]
    assert invalid_metrics(run) == {
        "inference_power_draw": "validation.results.metrics.n_samples = 0: not a positive integer",
        "inference_time": "validation.duration = -3.0: must be > 0",
        "top1_val": "validation.results.metrics.accuracy = 67.05: must be ≤ 1 (a percentage? accuracy is a fraction)"}
