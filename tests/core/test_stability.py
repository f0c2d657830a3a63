"""Grade stability between repeated runs (issue 13): each replicate rated alone, flips counted."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlel.runlog.logs import load_logs
from mlel.ratings import aggregate_runs
from mlel.ratings.stability import grade_stability

EFFNET = "infer_2022_03_03_17_30_03.json"  # EfficientNetB0, A100 x8 - TensorFlow 2.8.0
RESNET = "infer_2022_03_03_17_21_20.json"  # ResNet101, the reference, same environment
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pair(reference_dir):
    runs, _ = load_logs([reference_dir / EFFNET, reference_dir / RESNET])
    return {r.model: r for r in runs}


def _replicas(run, energy_factors):
    return [dataclasses.replace(run, file=f"{run.model}_{k}.json", energy_ws=run.energy_ws * f)
            for k, f in enumerate(energy_factors)]


def _letters(entries, model, key):
    from mlel.ratings import rate_entries
    from mlel.ratings.stability import replicate
    entry = next(e for e in entries if e.model == model)
    out = []
    for k in range(entry.n_runs):
        rated, _ = rate_entries([replicate(e, k) for e in entries])
        out.append(next(r for r in rated if r.model == model).metrics[key].rating)
    return out


def test_identical_replicates_never_flip(pair):
    runs = _replicas(pair["EfficientNetB0"], (1, 1, 1)) + _replicas(pair["ResNet101"], (1, 1, 1))
    stability = grade_stability(aggregate_runs(runs))
    assert (stability.entries, stability.replicates, stability.flips) == (2, 3, ())
    assert stability.grades == 2 * 7 and "0 of 2 compound grades" in stability.summary()


def test_a_replicate_that_measured_otherwise_is_counted_as_a_flip(pair):
    # replicate 1 of EfficientNetB0 spends 10x the energy: its energy grade must change, only it
    runs = _replicas(pair["EfficientNetB0"], (1, 10, 1)) + _replicas(pair["ResNet101"], (1, 1, 1))
    entries = aggregate_runs(runs)
    stability = grade_stability(entries)
    flipped = {(f.entry, f.metric) for f in stability.flips}
    assert ("EfficientNetB0", "inference_power_draw") in flipped
    assert all(entry == "EfficientNetB0" for entry, _ in flipped)  # the reference's own grades hold
    flip = next(f for f in stability.flips if f.metric == "inference_power_draw")
    assert list(flip.letters) == _letters(entries, "EfficientNetB0", "inference_power_draw")
    assert flip.letters[0] == flip.letters[2] != flip.letters[1]
    assert stability.metric_flips == sum(f.metric != "compound" for f in stability.flips)


def test_single_runs_have_nothing_to_compare(pair):
    stability = grade_stability(aggregate_runs(list(pair.values())))
    assert stability.entries == 0 and "nothing to compare" in stability.summary()


def test_the_cli_reports_stability(tmp_path, reference_dir):
    for name in (EFFNET, RESNET):
        for k in range(2):
            shutil.copy(reference_dir / name, tmp_path / f"{k}_{name}")
    proc = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path), "--stability", "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["entries"], out["replicates"], out["metric_flips"], out["compound_flips"]) == (2, 2, 0, 0)
    table = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(tmp_path), "--stability"],
                           capture_output=True, text=True, cwd=REPO, timeout=120)
    assert "grade stability over 2 replicates of 2 entries: 0 of 2 compound grades" in table.stdout
