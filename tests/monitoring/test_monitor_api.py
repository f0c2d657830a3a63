"""measure() on a machine without power sensors: the estimate, psutil, files, energy.json."""
import json
import time
from collections import namedtuple

import pytest

from mlel.monitoring import measure, measured, summarize_file
from mlel.monitoring import estimate as est
from mlel.monitoring.monitor import Measurement
from mlel.monitoring.process import ProcessMeter


def busy(seconds):
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x


def test_cpu_loop_is_estimated_and_files_parse(no_devices, tmp_path, caplog):
    out = tmp_path / "run"
    with caplog.at_level("INFO", logger="mlel.monitoring"):
        before = time.time()
        with measure(out, interval=0.05, prefix="validation_") as m:
            cpu0 = time.process_time()
            busy(0.4)
            share = (time.process_time() - cpu0) / 0.4  # what the machine let the loop have
        after = time.time()
    assert m.sources == {"estimate": "estimated"}
    assert m.energy_ws > 0
    assert any("ESTIMATED" in r.getMessage() for r in caplog.records)  # it says so
    # the window is the block's, however long a loaded machine made it (no wall-clock luck)
    assert before <= m.start < m.end <= after and m.end - m.start >= 0.4
    names = sorted(p.name for p in out.iterdir())
    assert names == ["validation_energy.json", "validation_monitoring_estimate.json",
                     "validation_monitoring_psutil.json"]
    # the summaries are the files' summaries (one implementation), flagged as the contract says
    for source in ("estimate", "psutil"):
        assert summarize_file(out / f"validation_monitoring_{source}.json") == m.summaries[source]
    est_total = m.summaries["estimate"]["total"]
    assert est_total["estimated"] is True and m.summaries["estimate"]["0"]["estimated"] is True
    assert est_total["total_power_draw"] == pytest.approx(m.energy_ws)
    assert est_total["total_duration"] == pytest.approx(m.end - m.start, abs=0.02)
    ps = m.summaries["psutil"]
    assert ps["total"]["total_power_draw"] == -1
    (pid,) = [k for k in ps if k != "total"]
    # the busy loop shows up in the process tree, whatever CPU the machine could spare
    assert ps[pid]["cpu_percent"]["max"] >= 0.5 * 100 * share > 0
    assert ps[pid]["mem_rss"]["min"] > 0
    energy = json.loads((out / "validation_energy.json").read_text())
    assert energy["energy_ws"] == pytest.approx(m.energy_ws)
    assert energy["sources"] == {"estimate": "estimated"}
    assert energy["idle_seconds"] == 0.0 and "baseline_power_w" not in energy
    assert energy["gco2e"] == pytest.approx(m.energy_ws / 3.6e6 * energy["carbon_intensity_g_per_kwh"])


def test_estimate_meets_simulated_utilisation(tmp_path):
    """The estimate driven by a simulated /proc/stat: energy = the model integrated exactly."""
    Times = namedtuple("Times", "user system idle iowait")
    ncpu, t0 = 4, time.time()

    def util(t):  # a load that changes half-way
        return 0.25 if t - t0 < 0.3 else 0.9

    def busy_integral(t):
        a = min(t - t0, 0.3)
        return 0.25 * a + 0.9 * max(0.0, t - t0 - 0.3)

    def cpu_times():
        t = time.time()
        b = busy_integral(t) * ncpu
        return Times(user=b * 0.8, system=b * 0.2, idle=(t - t0) * ncpu - b, iowait=0.0)

    meter = est.EstimateMeter(100.0, cpu_times=cpu_times, mem_bytes=16 * 2**30, name="x", logical_cpus=ncpu)
    with Measurement(tmp_path, 0.03, meters=[(meter, 0.03)]) as m:
        time.sleep(0.6)
    T = m.end - m.start
    u_int = busy_integral(m.end) - busy_integral(m.start)
    truth = 100.0 * (est.IDLE_FRACTION * T + (1 - est.IDLE_FRACTION) * u_int) \
        + 16 * (est.DRAM_W_PER_GB_IDLE * T + est.DRAM_W_PER_GB_LOAD * u_int)
    assert m.energy_ws == pytest.approx(truth, rel=0.01)
    assert m.sources == {"estimate": "estimated"}
    cpu = m.summaries["estimate"]["0"]["cpu_power"]
    assert cpu["min"] == pytest.approx(100 * (0.1 + 0.9 * 0.25), rel=0.05)
    assert cpu["max"] == pytest.approx(100 * (0.1 + 0.9 * 0.9), rel=0.05)


def test_tdp_lookup_and_default():
    assert est.lookup_tdp("Intel(R) Xeon(R) W-2155 CPU @ 3.30GHz")[0] == 140.0
    assert est.lookup_tdp("AMD EPYC 7742 64-Core Processor")[0] == 225.0
    tdp, source = est.lookup_tdp("Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz")
    assert tdp == 15.0 and "codecarbon" in source  # from CodeCarbon's bundled table
    tdp, source = est.resolve_tdp(None, "Mystery CPU", 8)
    assert tdp == 8 * est.DEFAULT_W_PER_CPU
    assert source.startswith("default")  # says the figure is a default, not a lookup
    assert est.resolve_tdp(65, "Intel(R) Xeon(R) W-2155 CPU @ 3.30GHz", 8) == (65.0, "argument")


def test_keyboard_interrupt_stops_and_flushes(no_devices, tmp_path):
    m = measure(tmp_path, interval=0.05)
    with pytest.raises(KeyboardInterrupt):
        with m:
            busy(0.2)
            raise KeyboardInterrupt
    assert m.samplers and not any(s._thread.is_alive() for s in m.samplers)
    data = json.loads((tmp_path / "monitoring_estimate.json").read_text())
    assert data["_meta"]["complete"] is True
    energy = json.loads((tmp_path / "energy.json").read_text())
    assert energy["error"] == "KeyboardInterrupt" and energy["energy_ws"] > 0


def test_decorator_form(no_devices, tmp_path):
    @measured(tmp_path, interval=0.05, prefix="fn_")
    def work(n):
        busy(0.1)
        return n * 2

    assert work(21) == 42
    assert work.last_measurement.energy_ws > 0
    assert (tmp_path / "fn_monitoring_estimate.json").is_file()


def test_idle_baseline_and_carbon(no_devices, tmp_path):
    with measure(tmp_path, interval=0.05, idle_seconds=0.3, country="FR", cpu_tdp=50) as m:
        busy(0.3)
    base = m.baseline_power_w["estimate"]
    # idle power lies between the model's floor (idle CPU and DRAM) and its full-load ceiling
    mem_gb = next(r.meter for r in m.recorders if r.meter.source == "estimate").mem_gb
    floor = 50 * est.IDLE_FRACTION + mem_gb * est.DRAM_W_PER_GB_IDLE
    ceiling = 50 + mem_gb * (est.DRAM_W_PER_GB_IDLE + est.DRAM_W_PER_GB_LOAD)
    assert floor - 1e-9 <= base <= ceiling + 1e-9
    duration = m.summaries["estimate"]["total"]["total_duration"]
    assert m.dynamic_energy_ws == pytest.approx(m.energy_ws - base * duration)
    energy = json.loads((tmp_path / "energy.json").read_text())
    assert energy["baseline_power_w"] == {"estimate": pytest.approx(base)}
    assert energy["country"] == "FR"
    assert 10 < energy["carbon_intensity_g_per_kwh"] < 200  # France's grid is mostly nuclear
    assert "France" in energy["carbon_intensity_source"]


@pytest.mark.parametrize("fast", [True, False], ids=["proc-stat", "psutil"])
def test_process_meter_sums_the_tree(fast):
    """The tree's CPU time includes a busy child's. Load-independent: the meter's CPU seconds over
    its window must cover what psutil saw the child use inside that window, however little CPU the
    machine could spare (we wait until the child has used 0.1 s, however long that takes). The
    meter's window is its own (psutil's timer on that path): it lies between the meter's creation
    and the end of the sample call, so its percent is turned into seconds over that bracket."""
    import subprocess
    import sys

    import psutil
    child = subprocess.Popen([sys.executable, "-c", "x = 0\nwhile True: x += 1"])
    try:
        t_created = time.time()
        meter = ProcessMeter(fast=fast)
        watcher = psutil.Process(child.pid)
        inner0 = sum(watcher.cpu_times()[:2])
        deadline = time.time() + 60
        while sum(watcher.cpu_times()[:2]) - inner0 < 0.1 and time.time() < deadline:
            time.sleep(0.05)
        inner_child_cpu_s = sum(watcher.cpu_times()[:2]) - inner0
        now = time.time()
        rec = next(iter(meter.sample(now).values()))
        t_sampled = time.time()
        assert rec["num_processes"] == 2
        tree_cpu_s = rec["cpu_percent"] / 100.0 * (t_sampled - t_created)
        assert inner_child_cpu_s >= 0.1
        # tick granularity: 10 ms per read of each process
        assert tree_cpu_s >= inner_child_cpu_s - 0.03, (tree_cpu_s, inner_child_cpu_s)
        assert rec["mem_rss"] > 0 and rec["mem_uss"] > 0 and rec["cpu_num"] >= 0
    finally:
        child.kill()
        child.wait()
    gone = next(iter(meter.sample(time.time() + 1).values()))
    assert gone["num_processes"] == 1  # the dead child is dropped, not an error
    meter.close()


def test_carbon_intensity_offline():
    from mlel.monitoring import carbon
    deu = carbon.carbon_intensity("DEU")
    assert deu[1] == "DEU" and 200 < deu[0] < 800
    assert carbon.carbon_intensity("de")[:2] == deu[:2] == carbon.carbon_intensity("Germany")[:2]
    world, code, source = carbon.carbon_intensity("XX-unknown")
    assert code is None and "world average" in source and world == carbon.world_average()
    assert carbon.gco2e(3.6e6, 400.0) == pytest.approx(400.0)  # 1 kWh at 400 g/kWh


def test_proc_stat_reader_agrees_with_psutil():
    """The estimate's cheap CPU-times reader returns what psutil.cpu_times() does, field by field."""
    import psutil

    from mlel.monitoring.procfs import CpuTimesReader
    reader = CpuTimesReader()
    try:
        ours, theirs = reader(), psutil.cpu_times()
        assert ours._fields == theirs._fields
        for field, a, b in zip(ours._fields, ours, theirs):
            assert a == pytest.approx(b, abs=0.5), field  # read a moment apart: a few ticks at most
        later = reader()
        assert sum(later) >= sum(ours)  # cumulative, re-read from the start of the file each time
    finally:
        reader.close()


def test_the_result_is_a_frozen_record_and_is_energy_json(no_devices, tmp_path):
    import dataclasses

    from mlel.monitoring import MeasurementResult, SourceEnergy
    with measure(tmp_path, interval=0.05) as m:
        assert m.result is None  # nothing is known before the end of the block
        busy(0.15)
    result = m.result
    assert isinstance(result, MeasurementResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.energy_j = 0.0
    (source,) = result.sources
    assert isinstance(source, SourceEnergy) and source.source == "estimate" and source.estimated
    assert source.duration_s == pytest.approx(result.end_s - result.start_s, abs=0.02)
    assert result.energy_j == source.energy_j == m.energy_ws
    assert json.loads((tmp_path / "energy.json").read_text()) == json.loads(json.dumps(result.to_dict()))
    assert m.stop() is result  # stopping twice changes nothing
