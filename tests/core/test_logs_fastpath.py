"""The reader's fast path (mlel.runlog.fastlog) decides exactly as the boundary check (mlel.runlog.validation):
same RunLog for every clean log, and every log it cannot vouch for handed to the boundary check."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from hostile_logs import REFERENCE_RESULTS, hostile_cases, load, mutated_logs, training_log_path
from mlel.base.errors import InputError
from mlel.runlog.fastlog import run_fields
from mlel.runlog.logs import load_logs, parse_log, parse_log_bytes
from mlel.runlog.validation import decode_merged_log

pytestmark = pytest.mark.skipif(not REFERENCE_RESULTS.is_dir(), reason="../shared reference logs missing")


def _outcome(read, raw: bytes):
    """What a reader makes of ``raw``: the RunLog (with its sources' order) or the error it raises."""
    try:
        run = read(raw)
    except (InputError, ValueError) as error:
        return type(error).__name__, str(error)
    return run, list(run.sources.items())


def _fast(raw: bytes):
    return parse_log_bytes(raw, "x.json")


def _checked(raw: bytes):  # the boundary check alone, no fast path
    return parse_log(decode_merged_log(raw), "x.json")


def _same_either_way(raw: bytes) -> None:
    assert _outcome(_fast, raw) == _outcome(_checked, raw)


def test_reference_logs_read_identically_and_almost_all_fast():
    paths = sorted(REFERENCE_RESULTS.glob("*.json"))
    fast = 0
    for path in paths:
        raw = path.read_bytes()
        _same_either_way(raw)
        fast += run_fields(raw, path.name) is not None
    # Only the two 2022 training logs with NaN literals need the boundary check's parser.
    assert fast == len(paths) - 2


@pytest.mark.parametrize("name,path,raw", list(hostile_cases()), ids=[c[0] for c in hostile_cases()])
def test_every_hostile_log_is_left_to_the_boundary_check(name, path, raw):
    assert run_fields(raw, "x.json") is None, name
    _same_either_way(raw)


def _dump(log: dict) -> bytes:
    return json.dumps(log).encode()


def _cpu_and_gpu_log() -> dict:
    log = load(training_log_path())
    assert log["monitoring_pynvml"]["total"]["total_power_draw"] > 0
    assert log["monitoring_pyrapl"]["total"]["total_power_draw"] > 0
    return log


def test_sources_keep_the_order_of_the_file():
    log = _cpu_and_gpu_log()
    swapped = {k: v for k, v in log.items() if k != "monitoring_pynvml"} | {"monitoring_pynvml": log["monitoring_pynvml"]}
    run = _fast(_dump(swapped))
    assert list(run.sources) == ["pyrapl", "pynvml"]
    _same_either_way(_dump(swapped))


def test_an_undeclared_source_is_counted_not_skipped():
    log = copy.deepcopy(load())
    log["validation"]["monitoring_wattmeter"] = {"total": {"total_power_draw": 1000.0, "total_duration": 5.0}}
    raw = _dump(log)
    assert run_fields(raw, "x.json") is None
    run = _fast(raw)
    assert run.sources["wattmeter"] == "measured"
    assert run.energy_ws == pytest.approx(log["validation"]["monitoring_pynvml"]["total"]["total_power_draw"] + 1000.0)


def test_a_source_key_spelled_with_escapes_is_not_missed():
    log = copy.deepcopy(load())
    log["validation"]["WATTMETER"] = {"total": {"total_power_draw": 7.0}}
    raw = _dump(log).replace(b'"WATTMETER"', b'"monitoring\\u005fwattmeter"')
    assert run_fields(raw, "x.json") is None
    _same_either_way(raw)
    assert "wattmeter" in _fast(raw).sources


@pytest.mark.parametrize("edit", [
    lambda log: log["validation"]["results"]["metrics"].update(n_samples=10 ** 20 + 1),  # int, not float
    lambda log: log["validation"]["results"]["metrics"].update(n_samples=128.0),
    lambda log: log["validation"].update(energy={"baseline_power_w": {"pynvml": 50.0}, "gco2e": 3}),
    lambda log: log["validation"].update(energy={"baseline_power_w": {"pynvml": None}}),
    lambda log: log["validation"].update(duration=None),
    lambda log: log["validation"]["monitoring_pynvml"]["total"].update(estimated=True),
    lambda log: log["config"].update(dataset="digits", model=None),
    lambda log: log["execution_platform"].update(GPU={}),
    lambda log: log.update(requirements=None),
    lambda log: log.update(incomplete=True, incomplete_reason="killed"),
    lambda log: log.update(validation=None, results=None),
])
def test_edited_logs_read_identically(edit):
    log = copy.deepcopy(load())
    edit(log)
    _same_either_way(_dump(log))


def test_load_logs_reads_files_and_names_the_unreadable(tmp_path):
    (tmp_path / "a.json").write_bytes((REFERENCE_RESULTS / "infer_2022_03_03_17_16_59.json").read_bytes())
    (tmp_path / "b.json").write_bytes(b"{")
    runs, problems = load_logs(tmp_path)
    assert [r.file for r in runs] == ["a.json"] and [p.file for p in problems] == ["b.json"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_logs())
def test_mutated_real_logs_read_identically(raw):
    _same_either_way(raw)


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
