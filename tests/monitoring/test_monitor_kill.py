"""SIGKILL during measure(): the files on disk parse and hold samples up to the last flush."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mlel.monitoring import summarize_file

REPO = Path(__file__).resolve().parents[2]
FLUSH = 0.3

CHILD = f"""
import sys
sys.modules["pynvml"] = None
from mlel.monitoring import measure
with measure(sys.argv[1], interval=0.05, flush_every={FLUSH}):
    print("started", flush=True)
    x = 0
    while True:
        x += 1
"""


def test_sigkill_leaves_parseable_files(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLEL_POWERCAP_ROOT": str(tmp_path / "none")}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], env=env, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        time.sleep(1.2)
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "energy.json").exists()  # never reached the end of the block
    assert not list(out.glob(".*.tmp")) or all(p.stat().st_size >= 0 for p in out.glob(".*.tmp"))
    for source in ("estimate", "psutil"):
        path = out / f"monitoring_{source}.json"
        raw = json.loads(path.read_text())  # parses: written atomically
        assert raw["_meta"]["complete"] is False
        (device,) = [k for k in raw if k != "_meta"]
        last = raw[device]["timestamp"][-1] / 1000.0
        # samples up to no more than one flush period (plus scheduling slack) before the kill
        assert killed_at - last <= FLUSH + 0.25, (source, killed_at - last)
        summary = summarize_file(path)
        assert summary["total"]["nr_measurements"] >= 10
    assert summarize_file(out / "monitoring_estimate.json")["total"]["total_power_draw"] > 0
