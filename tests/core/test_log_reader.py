"""The one reader of merged logs: bytes -> :func:`mlel.runlog.validation.parse_json` (the one decoder)
-> :func:`mlel.runlog.validation.check_merged_log` -> RunLog; what it keeps exact and what it names."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from hostile_logs import REFERENCE_RESULTS, load, training_log_path
from mlel.runlog.logs import load_logs, parse_log, parse_log_bytes
from mlel.runlog.validation import parse_json

pytestmark = pytest.mark.skipif(not REFERENCE_RESULTS.is_dir(), reason="../shared reference logs missing")


def _dump(log: dict) -> bytes:
    return json.dumps(log).encode()


def test_reference_logs_read_without_a_problem():
    runs, problems = load_logs(REFERENCE_RESULTS)
    assert len(runs) == 232 and problems == [] and not any(run.problems for run in runs)


def test_bytes_and_objects_read_alike():
    raw = (REFERENCE_RESULTS / "infer_2022_03_03_17_16_59.json").read_bytes()
    assert parse_log_bytes(raw, "x.json") == parse_log(json.loads(raw), "x.json")


def test_sources_keep_the_order_of_the_file():
    log = load(training_log_path())
    assert log["monitoring_pynvml"]["total"]["total_power_draw"] > 0 < log["monitoring_pyrapl"]["total"]["total_power_draw"]
    swapped = {k: v for k, v in log.items() if k != "monitoring_pynvml"} | {"monitoring_pynvml": log["monitoring_pynvml"]}
    assert list(parse_log_bytes(_dump(swapped), "x.json").sources) == ["pyrapl", "pynvml"]


def test_an_undeclared_source_is_counted_not_skipped():
    log = copy.deepcopy(load())
    log["validation"]["monitoring_wattmeter"] = {"total": {"total_power_draw": 1000.0, "total_duration": 5.0}}
    run = parse_log_bytes(_dump(log), "x.json")
    assert run.sources["wattmeter"] == "measured"
    assert run.energy_ws == pytest.approx(log["validation"]["monitoring_pynvml"]["total"]["total_power_draw"] + 1000.0)


def test_a_source_key_spelled_with_escapes_is_not_missed():
    log = copy.deepcopy(load())
    log["validation"]["WATTMETER"] = {"total": {"total_power_draw": 7.0}}
    raw = _dump(log).replace(b'"WATTMETER"', b'"monitoring\\u005fwattmeter"')
    assert "wattmeter" in parse_log_bytes(raw, "x.json").sources


def test_integers_beyond_64_bits_stay_integers():
    """orjson reads 10**30 as the float 1e+30; the decoder keeps the log's own integer."""
    assert parse_json(b'{"n": 1000000000000000000000000000000}') == {"n": 10 ** 30}
    log = copy.deepcopy(load())
    log["config"]["batch_size"] = 10 ** 30
    log["validation"]["monitoring_psutil"] = 10 ** 30
    run = parse_log_bytes(_dump(log), "x.json")
    assert dict(run.configuration)["batch_size"] == str(10 ** 30)
    [problem] = run.problems
    assert str(problem) == f"validation.monitoring_psutil = {10 ** 30}: Expected `object | null`, got `int`"


def test_an_energy_beyond_the_float_range_is_named_not_raised():
    log = load(training_log_path())
    log["monitoring_pyrapl"]["total"]["total_power_draw"] = "__BIG__"
    raw = _dump(log).replace(b'"__BIG__"', b"1e400")  # not a float: the stdlib parser reads it as inf
    run = parse_log_bytes(raw, "t.json")
    assert run.energy_ws is None and "energy" in run.invalid
    assert [(p.key, p.value, p.file) for p in run.problems] == [("energy", "inf", "t.json")]


def test_load_logs_reads_files_and_names_the_unreadable(tmp_path):
    (tmp_path / "a.json").write_bytes((REFERENCE_RESULTS / "infer_2022_03_03_17_16_59.json").read_bytes())
    (tmp_path / "b.json").write_bytes(b"{")
    runs, problems = load_logs(tmp_path)
    assert [r.file for r in runs] == ["a.json"] and [p.file for p in problems] == ["b.json"]
    assert problems[0].reason.startswith("not valid JSON (")  # orjson's words: line and column


@pytest.mark.parametrize("size", [0, 1, 14_833, 300_000])
def test_files_are_read_whole(tmp_path, size):
    from mlel.base.io import read_file_bytes as _read_bytes

    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    (tmp_path / "f.json").write_bytes(data)
    assert _read_bytes(tmp_path / "f.json") == data


def test_a_file_without_a_size_is_read_to_its_end():
    from mlel.base.io import read_file_bytes as _read_bytes

    status = _read_bytes("/proc/self/status") if Path("/proc/self/status").exists() else None
    if status is None:
        pytest.skip("no /proc")
    assert status.startswith(b"Name:") and status.endswith(b"\n") and len(status) > 100
