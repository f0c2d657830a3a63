"""Apple silicon (source apple_silicon): powermetrics' plist stream through a stand-in script, and
IOReport through a stand-in zeus_apple_silicon module — energies, nulls, a frozen or ended stream
named, the root note with the estimate taking over, and never a powermetrics left running."""
import json
import os
import plistlib
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from mlel.monitoring import measure, meters, powermetrics
from mlel.monitoring.monitor import discover_meters
from mlel.monitoring.powermetrics import PowermetricsMeter, Span, SpanLedger, StreamFailed
from mlel.monitoring.recorder import Recorder

STAND_IN = Path(__file__).with_name("fake_powermetrics.py")
WATTS = {"cpu": 4.0, "gpu": 10.0, "ane": 1.5}
WAIT_S = 30.0  # generous: a loaded machine delays the stand-in, never by this much


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """$MLEL_POWERMETRICS -> the stand-in (run by this Python), the opener registered, no IOReport."""
    wrapper = tmp_path / "powermetrics"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STAND_IN}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv(powermetrics.ENV_PATH, str(wrapper))
    monkeypatch.setenv("FAKE_PM_WATTS", ",".join(f"{k}={v}" for k, v in WATTS.items()))
    monkeypatch.setenv("FAKE_PM_PIDFILE", str(tmp_path / "pid"))
    monkeypatch.delenv("FAKE_PM_MODE", raising=False)
    monkeypatch.setitem(meters._OPENERS, powermetrics.APPLE_SILICON, powermetrics.open_apple_silicon)
    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", None)
    return tmp_path / "pid"


def _gone(pid: int) -> bool:
    """The process has exited (a zombie not yet reaped by init counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_S} s for {what}"
        time.sleep(0.02)


def _sum(readings, device):
    return sum(r[device]["energy"] for r in readings)


# the plist documents ------------------------------------------------------------------------------
def _doc(**processor) -> bytes:
    return plistlib.dumps({"elapsed_ns": 500_000_000, "processor": processor})


def test_document_fields_give_watts_and_null_where_absent():
    span = powermetrics.parse_document(_doc(cpu_power=4000.0, gpu_power=250.5), 10.0)
    assert span.watts == {"cpu": 4.0, "gpu": 0.2505, "ane": None}  # no ane field: null, never 0
    assert span.elapsed_s == 0.5 and span.end_s == 10.0 and not span.problems
    energy_only = powermetrics.parse_document(_doc(cpu_energy=2000, ane_energy=0), 10.0)
    assert energy_only.watts == {"cpu": 4.0, "gpu": None, "ane": 0.0}  # 2000 mJ over 0.5 s; a real 0 stays 0
    no_span = powermetrics.parse_document(plistlib.dumps({"processor": {"cpu_energy": 2000}}), 10.0)
    assert no_span.watts["cpu"] is None and no_span.elapsed_s is None  # mJ without a span: no power


def test_implausible_values_are_null_and_named():
    span = powermetrics.parse_document(_doc(cpu_power=-5000.0, gpu_power=9e9, ane_power=float("nan")), 1.0)
    assert span.watts == {"cpu": None, "gpu": None, "ane": None}
    assert [p.split(" gives ")[0] for p in span.problems] == [
        "processor.cpu_power", "processor.gpu_power", "processor.ane_power"]
    with pytest.raises(Exception):
        powermetrics.parse_document(b"<?xml version='1.0'?><plist><dict><key>a", 1.0)


def test_ledger_apportions_spans_to_intervals():
    ledger = SpanLedger(devices=("cpu",), stale_s=10.0)
    ledger.add(Span(100.0, 1.0, {"cpu": 99.0}))   # wholly before the window: not counted
    assert ledger.take(100.4) is None             # the window starts
    ledger.add(Span(101.0, 1.0, {"cpu": 2.0}))    # [100, 101]: 0.6 s of it inside
    assert ledger.take(101.0)["cpu"] == pytest.approx(1.2)
    assert ledger.take(101.9)["cpu"] == pytest.approx(1.8)  # no span yet: the latest 2 W, guessed
    ledger.add(Span(102.0, 1.0, {"cpu": 1.0}))    # it was 1 W: 0.8 J over-reported
    assert ledger.take(102.0)["cpu"] == 0.0       # never negative: the 0.8 J is owed...
    ledger.add(Span(103.0, 1.0, {"cpu": 3.0}))
    assert ledger.take(103.0)["cpu"] == pytest.approx(2.2)  # ...and taken off the next interval
    # 1.2 + 1.8 + 0 + 2.2 = 0.6 s × 2 W + 1 s × 1 W + 1 s × 3 W: exact whatever the guesses were
    ledger.add(Span(104.0, 1.0, {"cpu": None}))   # a span without the field: that interval is null
    assert ledger.take(104.0)["cpu"] is None


def test_ledger_stops_guessing_past_a_stale_end():
    ledger = SpanLedger(devices=("cpu",), stale_s=1.0)
    ledger.take(0.0)
    ledger.add(Span(0.5, 0.5, {"cpu": 4.0}))
    assert ledger.take(1.0)["cpu"] == pytest.approx(4.0)
    assert ledger.take(2.0)["cpu"] is None  # 1.5 s after the latest span: unknown, not 4 W made up


# the meter, through the stand-in ----------------------------------------------------------------
def test_meter_energy_is_power_times_window(stand_in):
    meter = PowermetricsMeter(period_s=0.1)
    try:
        start = time.time()
        assert meter.sample(start) is None  # the window starts
        readings = []
        while time.time() - start < 1.0:
            time.sleep(0.1)
            readings.append(meter.sample(time.time()))
        end = time.time()
        readings.append(meter.sample(end))
    finally:
        meter.close()
    assert meter.documents >= 5
    for device, watts in WATTS.items():
        assert _sum(readings, device) == pytest.approx(watts * (end - start), rel=0.05)
    assert sum(r["cpu"]["duration"] for r in readings) == pytest.approx(end - start)


def test_measure_apple_silicon_energy_and_files(stand_in, no_devices, tmp_path):
    with measure(tmp_path / "run", interval=0.1) as m:
        pid = int(stand_in.read_text())
        time.sleep(1.0)
    truth = sum(WATTS.values()) * (m.end - m.start)
    assert m.energy_by_source["apple_silicon"] == pytest.approx(truth, rel=0.05)
    assert m.sources["apple_silicon"] == "measured"
    assert any("measured by powermetrics" in note for note in m.notes)
    summary = m.summaries["apple_silicon"]
    assert set(summary) == {"cpu", "gpu", "ane", "total"}
    assert summary["gpu"]["total_power_draw"] == pytest.approx(WATTS["gpu"] * (m.end - m.start), rel=0.05)
    assert summary["gpu"]["power"]["mean"] == pytest.approx(WATTS["gpu"], rel=0.05)
    raw = json.loads((tmp_path / "run" / "monitoring_apple_silicon.json").read_text())
    assert set(raw["cpu"]) == {"timestamp", "duration", "energy", "power"}
    assert raw["_meta"]["interval_energy_key"] == "energy" and raw["_meta"]["power_keys"] == ["power"]
    _wait_for(lambda: _gone(pid), "powermetrics to end after the block")


def test_no_cpu_estimate_on_top_of_the_soc(stand_in, no_devices):
    found, _ = discover_meters(0.1, 0.1)
    try:
        assert [meter.source for meter, _ in found] == ["apple_silicon", "psutil"]
    finally:
        for meter, _ in found:
            meter.close()


def test_missing_field_is_null_never_zero(stand_in, monkeypatch):
    monkeypatch.setenv("FAKE_PM_MODE", "drop=ane_power+ane_energy")
    meter = PowermetricsMeter(period_s=0.1)
    try:
        start = time.time()
        meter.sample(start)
        _wait_for(lambda: meter.documents >= 3, "three documents")
        reading = meter.sample(time.time())
    finally:
        meter.close()
    assert reading["ane"] == {"duration": reading["ane"]["duration"], "energy": None, "power": None}
    assert reading["cpu"]["power"] == pytest.approx(WATTS["cpu"], rel=0.05)


def test_implausible_stream_value_is_null_and_named(stand_in, monkeypatch):
    monkeypatch.setenv("FAKE_PM_MODE", "absurd=gpu_power:-5000")
    meter = PowermetricsMeter(period_s=0.1)
    try:
        meter.sample(time.time())
        _wait_for(lambda: meter.documents >= 2, "two documents")
        reading = meter.sample(time.time())
    finally:
        meter.close()
    assert reading["gpu"]["energy"] is None and reading["cpu"]["energy"] is not None
    assert meter.problems == ["processor.gpu_power gives -5 W for the GPU: not a plausible power, left out"]


def test_a_frozen_stream_is_detected_and_named(stand_in, monkeypatch):
    monkeypatch.setenv("FAKE_PM_MODE", "freeze_after=3")
    meter = PowermetricsMeter(period_s=0.1, frozen_after_s=0.8)
    rec = Recorder(meter, 0.1)
    try:
        rec.record()
        _wait_for(lambda: meter.documents == 3, "three documents")
        _wait_for(lambda: (rec.record(), rec.state["errors"])[1] > 0, "the freeze to be noticed")
    finally:
        meter.close()
    assert rec.state["last_error"].startswith("StreamFailed: powermetrics stream frozen: no document for ")
    energies = rec.series["cpu"]["energy"]
    assert energies[-1] is None  # the end of the freeze: unknown, not the last power carried on
    # two documents of 0.1 s in the window and at most STALE_MIN_S guessed: not the freeze's 0.8 s at 4 W
    assert sum(e for e in energies if e is not None) < WATTS["cpu"] * 0.75


def test_an_ended_stream_is_named(stand_in, monkeypatch):
    monkeypatch.setenv("FAKE_PM_MODE", "exit_after=2")
    meter = PowermetricsMeter(period_s=0.1)
    try:
        meter.sample(time.time())
        _wait_for(lambda: not meter.running, "the stand-in to exit")
        with pytest.raises(StreamFailed, match="powermetrics exited with code 0"):
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                meter.sample(time.time())
                time.sleep(0.05)
    finally:
        meter.close()


def test_without_root_the_note_says_how_and_the_estimate_takes_over(stand_in, no_devices, monkeypatch):
    monkeypatch.setenv("FAKE_PM_MODE", "superuser")
    found, notes = discover_meters(0.1, 0.1, cpu_tdp=30.0)
    for meter, _ in found:
        meter.close()
    assert [meter.source for meter, _ in found] == ["estimate", "psutil"]
    root = [n for n in notes if n.startswith("Apple silicon power not measured: powermetrics needs root")]
    assert len(root) == 1, notes
    assert "must be invoked as the superuser" in root[0]
    assert "sudo" in root[0] and "NOPASSWD: /usr/bin/powermetrics" in root[0] and "zeus-apple-silicon" in root[0]
    assert any(n.startswith("CPU power ESTIMATED") for n in notes)
    assert _gone(int(stand_in.read_text()))


def test_no_powermetrics_here_is_said(stand_in, monkeypatch, tmp_path):
    monkeypatch.setenv(powermetrics.ENV_PATH, str(tmp_path / "absent"))
    opened = powermetrics.open_apple_silicon(meters.Discovery())
    assert opened.meter is None and opened.why_not.startswith("no powermetrics (")


def test_a_stream_without_any_power_is_not_a_meter(stand_in, monkeypatch):
    monkeypatch.setenv("FAKE_PM_MODE", "drop=" + "+".join(f"{d}_{q}" for d in WATTS for q in ("power", "energy")))
    opened = powermetrics.open_apple_silicon(meters.Discovery())
    assert opened.meter is None and opened.why_not.startswith("powermetrics gives no CPU, GPU or ANE power")
    _wait_for(lambda: _gone(int(stand_in.read_text())), "the stand-in to be stopped")


def test_close_ends_the_process(stand_in):
    meter = PowermetricsMeter(period_s=0.1)
    pid = int(stand_in.read_text())
    assert not _gone(pid)
    meter.close()
    assert meter.proc.returncode is not None and _gone(pid)
    assert not meter._reader.is_alive()


CHILD = """
import sys, time
from mlel.monitoring.powermetrics import PowermetricsMeter
meter = PowermetricsMeter(period_s=0.1)
print(meter.proc.pid, flush=True)
time.sleep(3600)
"""


def test_a_killed_experiment_leaves_no_powermetrics(stand_in):
    """SIGKILL skips close(): powermetrics then dies at its next write to the closed pipe."""
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=os.environ)
    try:
        pid = int(child.stdout.readline())
        assert not _gone(pid)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=WAIT_S)
    _wait_for(lambda: _gone(pid), "powermetrics to die with its reader")


def test_cost_within_the_monitor_budget(stand_in):
    """≤ 5 ms CPU per second: the reader's parsing at the default period plus sample() every 0.1 s."""
    meter = PowermetricsMeter()
    sample_cpu, start = 0.0, time.time()
    try:
        while time.time() - start < 2.5:
            time.sleep(0.1)
            t = time.thread_time()
            meter.sample(time.time())
            sample_cpu += time.thread_time() - t
    finally:
        meter.close()
    elapsed = time.time() - start
    assert meter.documents >= 3
    assert (meter.reader_cpu_s + sample_cpu) / elapsed < 0.005


# IOReport, through a stand-in zeus_apple_silicon --------------------------------------------------
def _fake_zeus(counters):
    """A module whose monitor's cumulative counters (mJ) are ``counters()``'s, read at each call."""
    class AppleEnergyMonitor:
        def get_cumulative_energy(self):
            return types.SimpleNamespace(**counters())
    return types.SimpleNamespace(AppleEnergyMonitor=AppleEnergyMonitor)


def test_ioreport_is_preferred_without_root(monkeypatch):
    monkeypatch.delenv(powermetrics.ENV_PATH, raising=False)
    clock = {"t": 0.0}
    zeus = _fake_zeus(lambda: {"cpu_total_mj": 4000 * clock["t"], "gpu_mj": 10_000 * clock["t"],
                               "ane_mj": None, "dram_mj": 500 * clock["t"]})
    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", zeus)
    opened = powermetrics.open_apple_silicon(meters.Discovery())
    meter = opened.meter
    assert isinstance(meter, powermetrics.IOReportMeter) and "IOReport" in opened.notes[0]
    assert meter.devices == ("cpu", "gpu", "dram")  # no ANE channel here: no ANE device, not zeros
    assert meter.sample(0.0) is None
    clock["t"] = 0.5
    reading = meter.sample(0.5)
    assert reading["cpu"] == {"duration": 0.5, "energy": pytest.approx(2.0), "power": pytest.approx(4.0)}
    assert reading["gpu"]["power"] == pytest.approx(10.0) and reading["dram"]["power"] == pytest.approx(0.5)


def test_ioreport_broken_and_frozen_counters_are_named():
    values = iter([1000, 2000, 1500, 1500, 1500, 1500, 1500, 1500, 1500])
    meter = powermetrics.IOReportMeter(_fake_zeus(lambda: {"cpu_total_mj": next(values)}))
    assert meter.devices == ("cpu",)
    meter.sample(0.0)  # 2000 (the constructor read 1000)
    assert meter.sample(1.0)["cpu"]["energy"] is None  # back to 1500: a broken counter, left out
    assert meter.problems == ["IOReport CPU counter went from 2000 to 1500 mJ: left out"]
    assert meter.sample(2.0)["cpu"]["energy"] == 0.0  # one still second: possible, kept
    meter.sample(3.0)
    with pytest.raises(StreamFailed, match="IOReport CPU energy counter frozen: unchanged for 3.0 s"):
        meter.sample(4.0)


def test_registered_only_on_macos_or_with_the_override():
    if sys.platform == "darwin" or os.environ.get(powermetrics.ENV_PATH):
        pytest.skip("registered here by design")
    assert powermetrics.APPLE_SILICON not in meters.registered()
