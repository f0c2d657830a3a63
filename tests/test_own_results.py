"""The merged logs this project measured itself (results/) rate cleanly and ELEx serves them."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"


def test_own_results_rate_cleanly_from_the_cli():
    proc = subprocess.run([sys.executable, "-m", "mlel.ratings", "--directory", str(RESULTS), "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "0 file(s) skipped" in proc.stderr
    rated = json.loads(proc.stdout)
    environments = {s["environment"] for s in rated}
    assert len({s["model"] for s in rated}) >= 8 and len(environments) >= 3
    # no sensor on the machine that measured them: every figure says it is an estimate
    assert all(s["energy"]["estimated"] for s in rated)
    # issue 13: repeated seeds, every entry graded, every measured value with its interval
    assert all(s["graded"] for s in rated), [s["entry"] for s in rated if not s["graded"]]
    assert len(rated) == 40 and all(s["n_runs"] == 3 for s in rated)  # 8 models x 3 backends + 8 x 2 trained
    assert all(m["n"] == s["n_runs"] for s in rated for m in s["metrics"].values() if m["n"])
    assert all((m["ci95"] is None) == (s["spread"][k] <= 1e-12 * abs(m["value"]))  # issue 24: constants have none
               for s in rated for k, m in s["metrics"].items() if m["n"])


def test_own_results_say_how_stable_their_grades_are():
    proc = subprocess.run([sys.executable, "-m", "mlel.ratings", "--directory", str(RESULTS), "--stability",
                           "--json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    stability = json.loads(proc.stdout)
    assert stability["replicates"] == 3 and stability["entries"] == 40
    readme = (REPO / "README.md").read_text()
    # the README states the figures this command gives
    assert (f"{stability['compound_flips']} of {stability['entries']} compound grades" in readme
            and f"{stability['metric_flips']} of {stability['metric_grades']} metric grades" in readme)


def test_elex_serves_own_results():
    from mlel.elex.app import create_app
    from mlel.elex.state import ElexData

    data = ElexData.load(RESULTS)
    assert data.problems == () and set(data.tasks) == {"inference", "training"}
    assert len(data.table("inference")) == 24  # 8 models x (PyTorch, TensorFlow, ONNX)
    assert create_app(str(RESULTS)).server.test_client().get("/").status_code == 200
