"""SIGKILL during measure(): the samples on disk parse and reach to within 0.5 s of the kill.

"The kill" is the child's last sign of life (a heartbeat it writes as it works), not the parent's
clock: on a loaded machine the child may not run at all for a while before the signal, and no
sampler can write a sample while its process is not scheduled."""
import os
import random
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlel.monitoring import read_series, summarize_file
from mlel.monitoring.series import MonitoringFileError, parse_lines

REPO = Path(__file__).resolve().parents[2]
MAX_LOST_S = 0.5
KILLS = 6

CHILD = """
import mmap, struct, sys, time
sys.modules["pynvml"] = None
from mlel.monitoring import measure
with open(sys.argv[2], "r+b") as handle:
    heartbeat = mmap.mmap(handle.fileno(), 8)
with measure(sys.argv[1], interval=0.05):
    print("started", flush=True)
    x = 0
    while True:
        x += 1
        if x % 500 == 0:
            heartbeat[:8] = struct.pack("d", time.time())
"""


def _run_and_kill(out: Path, after_s: float, env: dict) -> float:
    """Kill the child ``after_s`` into its block; return its last heartbeat (seconds since the epoch)."""
    heartbeat = out.parent / f"{out.name}.heartbeat"
    heartbeat.write_bytes(bytes(8))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(out), str(heartbeat)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        time.sleep(after_s)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    (last_alive,) = struct.unpack("d", heartbeat.read_bytes())
    assert last_alive > 0, "the child never beat"
    return last_alive


def test_sigkill_at_random_moments_loses_at_most_half_a_second(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLEL_POWERCAP_ROOT": str(tmp_path / "none")}
    moments = random.Random(15).sample([0.4 + 0.13 * k for k in range(10)], KILLS)
    lost = []
    for k, after_s in enumerate(moments):
        out = tmp_path / f"run{k}"
        killed_at = _run_and_kill(out, after_s, env)
        assert not (out / "energy.json").exists()  # never reached the end of the block
        assert not list(out.glob(".*.tmp"))
        for source in ("estimate", "psutil"):
            path = out / f"monitoring_{source}.json"
            assert not path.exists() and path.with_suffix(".jsonl").is_file()  # only the append log
            raw = read_series(path)  # the reader takes the .jsonl where no .json was written
            assert raw["_meta"]["complete"] is False and raw["_meta"]["source"] == source
            (device,) = [key for key in raw if key != "_meta"]
            lost.append(killed_at - raw[device]["timestamp"][-1] / 1000.0)
            summary = summarize_file(path)
            assert summary["total"]["nr_measurements"] == len(raw[device]["timestamp"]) >= 1
        assert summarize_file(out / "monitoring_estimate.json")["total"]["total_power_draw"] > 0
    print("seconds between the last sample on disk and the child's last heartbeat:", [round(x, 3) for x in lost])
    assert max(lost) <= MAX_LOST_S, lost


def test_lines_cut_by_a_kill_are_ignored_only_at_the_end():
    lines = (b'{"_meta": {"source": "x", "power_keys": ["p"], "complete": false}}\n'
             b'{"timestamp": 1000.0, "0": {"p": 10.0}}\n'
             b'{"timestamp": 2000.0, "0": {"p": 30.0, "q": 1}}\n'
             b'{"_meta": {"errors": 1}}\n')
    series = parse_lines(lines + b'{"timestamp": 3000.0, "0": {"p"', "x.jsonl")
    assert series["0"] == {"timestamp": [1000.0, 2000.0], "p": [10.0, 30.0], "q": [None, 1]}
    assert series["_meta"]["errors"] == 1 and series["_meta"]["source"] == "x"
    with pytest.raises(MonitoringFileError, match="line 2"):
        parse_lines(lines.replace(b'"p": 10.0}}', b'"p": 10.0'), "x.jsonl")
