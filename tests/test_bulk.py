"""Speed without side effects (issue 23): the library's readers and raters leave the caller's garbage
collector as it was — never disabled, frozen, collected or retuned, during a call or after it; only
the command's own process (``python -m mlel.ratings``, ``mlel/ratings/__main__.py``) turns it off."""
from __future__ import annotations

import gc
import shutil
import subprocess
import sys

import pytest

from hostile_logs import REFERENCE_RESULTS

pytestmark = pytest.mark.skipif(not REFERENCE_RESULTS.is_dir(), reason="../shared reference logs missing")

_TOUCHING = ("disable", "enable", "freeze", "unfreeze", "collect", "set_threshold")


@pytest.fixture
def logs_and_records(tmp_path):
    """A directory of merged logs (the first 40 of 2022) beside two imported result records."""
    import orjson

    for path in sorted(REFERENCE_RESULTS.glob("*.json"))[:40]:
        shutil.copy(path, tmp_path / path.name)
    record = {"schema": "mlee-result/1", "task": "lm-arena-chat", "model": "m",
              "environment": {"hardware": "1 x B200", "software": "vLLM"},
              "properties": {"energy_per_token": {"value": 0.7, "unit": "J/token", "source": "reported"}},
              "runs": 1, "provenance": {"tool": "test"}}
    for i in range(2):
        (tmp_path / f"record_{i}.json").write_bytes(orjson.dumps({**record, "model": f"m{i}"}))
    return tmp_path


@pytest.fixture
def collector_watch(monkeypatch):
    """Records every call that would change the collector, and its state at each merged log read."""
    from mlel.ratings import report
    from mlel.results import reader
    from mlel.runlog import logs

    calls, seen = [], []
    for name in _TOUCHING:
        original = getattr(gc, name)
        monkeypatch.setattr(gc, name, lambda *a, _name=name, _original=original, **k:
                            calls.append(_name) or _original(*a, **k))
    for module, name in ((logs, "parse_log_bytes"), (report, "parse_log_bytes"), (reader, "parse_record_bytes"),
                         (report, "rate_entries"), (report, "entries_from_records")):
        original, first = getattr(module, name), set()
        monkeypatch.setattr(module, name, lambda *a, _original=original, _first=first, **k:
                            seen.append(_state(counted=not _first)[:2]) or _first.add(1) or _original(*a, **k))
    return calls, seen


def _state(counted: bool = True) -> tuple:
    """Enabled, frozen (how many objects, to the thousand: frozen objects that die leave), thresholds.
    Counting the frozen objects walks them all (seconds once the whole suite's heap is frozen), so the
    reads after the first of each function record only whether the collector is on (``frozen`` None)."""
    frozen = round(gc.get_freeze_count(), -3) if counted else None
    return gc.isenabled(), frozen, gc.get_threshold()


def _read_and_rate(directory) -> None:
    """Every library entry point that reads or rates a directory, as a caller would call it."""
    import mlel
    from mlel.ratings import RatingOptions, rate_entries
    from mlel.ratings.cli import ratings_main
    from mlel.ratings.rated import entries_from_records
    from mlel.ratings.report import load_entries, rate_directory
    from mlel.results import read_result_records
    from mlel.runlog.logs import load_logs

    runs, problems = load_logs(directory)
    assert len(runs) == 40 and len(problems) == 2  # the records: not merged logs
    scan = read_result_records(directory)
    assert len(scan.records) == 2
    rate_entries(entries_from_records(scan.records), RatingOptions())
    load_entries(directory)
    report = rate_directory(directory, RatingOptions(scale="best"))
    assert len(report.rated) == len(report.records) > 40
    assert mlel.rate_directory(directory).records
    assert ratings_main(["--directory", str(directory), "--json"]) == 0  # the CLI's function, in-process


@pytest.mark.parametrize("frozen", [False, True], ids=["plain", "caller-froze-its-heap"])
def test_reading_and_rating_leave_the_collector_alone(logs_and_records, collector_watch, capsysbinary, frozen):
    calls, seen = collector_watch
    if frozen:  # a pre-fork server's own freeze must stay exactly as it was
        gc.freeze()
        calls.clear()
    try:
        before = _state()
        _read_and_rate(logs_and_records)
        assert calls == [] and _state() == before
        assert seen and {on for on, _ in seen} == {before[0]}  # during every read, too
        assert {frozen for _, frozen in seen} - {None} == {before[1]}  # the first read of each function
    finally:
        if frozen:
            gc.unfreeze()


def test_a_disabled_collector_stays_disabled(logs_and_records, collector_watch, capsysbinary):
    calls, seen = collector_watch
    gc.disable()
    calls.clear()
    try:
        _read_and_rate(logs_and_records)
        assert calls == [] and not gc.isenabled() and set(seen) <= {(False, 0), (False, None)}
    finally:
        gc.enable()


def test_only_the_command_turns_the_collector_off_in_its_own_process(tmp_path):
    code = ("import gc, runpy, sys; sys.argv = ['mlel.ratings', '--directory', sys.argv[1], '--json']\n"
            "import mlel.ratings.cli as cli\n"
            "cli._exit_at_once = lambda code: print('collector', gc.isenabled(), file=sys.stderr) or sys.exit(code)\n"
            "runpy.run_module('mlel.ratings', run_name='__main__')")
    out = subprocess.run([sys.executable, "-c", code, str(REFERENCE_RESULTS)], capture_output=True, text=True)
    assert out.returncode == 0 and "collector False" in out.stderr, out.stderr[-500:]


def test_only_a_commands_main_switches_the_collector():
    # process-wide switches live in a command's own __main__.py, never in a library module
    import re
    from pathlib import Path

    switch = re.compile(r"\bgc\.(disable|enable|freeze|unfreeze|collect|set_threshold)\(")
    package = Path(__file__).resolve().parents[1] / "mlel"
    found = {str(p.relative_to(package)) for p in package.rglob("*.py") if switch.search(p.read_text())}
    assert found == {"ratings/__main__.py"}
