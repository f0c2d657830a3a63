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


def test_elex_serves_own_results():
    from mlel.elex.app import create_app
    from mlel.elex.state import ElexData

    data = ElexData.load(RESULTS)
    assert data.problems == () and set(data.tasks) == {"inference", "training"}
    assert len(data.table("inference")) >= 24
    assert create_app(str(RESULTS)).server.test_client().get("/").status_code == 200
