"""The README's "Record your own experiment" block runs as written, and a newcomer gets what the
README says: one model alone is not rated (with the command that gives it a grade); two are rated."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _block() -> str:
    """The first ```python block under "### Record your own experiment"."""
    section = REPO.joinpath("README.md").read_text().split("### Record your own experiment", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _rate(cwd: Path) -> list[dict]:
    # the README's two commands, in a scratch folder (.venv/bin/python is this interpreter)
    merged = _run([sys.executable, str(REPO / "merge_results.py"), "--directory", "runs", "--output-dir", "mine",
                   "--force"], cwd)
    assert merged.returncode == 0, merged.stderr
    table = _run([sys.executable, "-m", "mlel.ratings", "--directory", "mine", "--task", "lm-arena-chat"], cwd)
    assert table.returncode == 0, table.stderr
    rated = _run([sys.executable, "-m", "mlel.ratings", "--directory", "mine", "--task", "lm-arena-chat", "--json"],
                 cwd)
    return table.stdout, json.loads(rated.stdout)


def test_the_record_block_runs_as_written_and_a_lone_model_says_how_to_get_a_grade(tmp_path):
    block = _block()
    ran = _run([sys.executable, "-c", block], tmp_path)
    assert ran.returncode == 0, ran.stderr
    table, [alone] = _rate(tmp_path)
    assert alone["model"] == "tiny-gpt" and alone["graded"] is True, alone.get("not_graded")
    assert alone["compound"] is None and all(m["rating"] is None for m in alone["metrics"].values())
    assert alone["metrics"]["energy_per_token"]["value"] > 0  # the values are still shown
    hint = "to get a grade, measure another model of the task on the same machine"
    assert alone["not_rated"].startswith("lone model: nothing to compare with in ") and hint in alone["not_rated"]
    assert "not rated: lone model" in table and " E " not in table
    # the README's next step: a second model, and both are rated against the better of the two
    ran = _run([sys.executable, "-c", block.replace('model="tiny-gpt"', 'model="tiny-gpt-2"')], tmp_path)
    assert ran.returncode == 0, ran.stderr
    _, both = _rate(tmp_path)
    assert sorted(s["model"] for s in both) == ["tiny-gpt", "tiny-gpt-2"]
    assert all(s["compound"] in "ABCDE" and s["reference"] == "best" for s in both), both
