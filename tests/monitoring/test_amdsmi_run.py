"""Issue 29 acceptance, AMD: infer.py on a stand-in ``amdsmi`` (one GPU at a constant power, ROCm 7's
API) records source ``amdsmi`` in its run folder and merged log with energy = power x window, the
environment names the GPU, and ratings and the label show the energy as measured."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlel.labels.content import label_content
from monitoring_fakes import FakePowercap

REPO = Path(__file__).resolve().parents[2]
STAND_INS = Path(__file__).parent / "stand_ins"
WATTS = 240.0
pytestmark = pytest.mark.timeout(600)


def run(env: dict, *args):
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=500, env=env)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.slow
def test_infer_on_an_amd_gpu_is_measured_merged_and_rated(tmp_path):
    # a CPU sensor too (a powercap tree whose counters stand still), so the whole run is measured
    FakePowercap(tmp_path / "powercap", {"package-0": 40.0})
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MLEE_AMDSMI_FLAVOUR": "rocm7", "MLEE_AMDSMI_WATTS": str(WATTS),
           "MLEL_POWERCAP_ROOT": str(tmp_path / "powercap"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(STAND_INS), os.environ.get("PYTHONPATH")]))}
    for name in ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"):
        env.pop(name, None)
    runs, results = tmp_path / "runs", tmp_path / "results"
    infer = run(env, "infer.py", "--model", "MobileNetV3Small", "--backend", "torch", "--dataset", "synthetic",
                "--n-batches", 2, "-b", 4, "--input-size", 32, "--min-duration", 1.5,
                "--gpu-monitor-interval", 0.1, "--output-dir", runs)
    assert infer.returncode == 0, infer.stderr[-3000:]
    (folder,) = runs.glob("infer_*")

    # the run folder: the source, its energy = power x window, the GPU named
    energy = load(folder / "validation_energy.json")
    assert energy["sources"] == {"amdsmi": "measured", "pyrapl": "measured"}, energy["notes"]
    window_s = energy["end"] - energy["start"]
    assert window_s >= 1.5
    assert energy["energy_by_source_ws"]["amdsmi"] == pytest.approx(WATTS * window_s, rel=0.05)
    series = load(folder / "validation_monitoring_amdsmi.json")
    assert series["_meta"]["source"] == "amdsmi" and series["_meta"]["devices"]["0"]["energy_counter"] is True
    gpus = load(folder / "execution_platform.json")["GPU"]
    assert [gpu["Name"] for gpu in gpus.values()] == ["AMD Instinct MI300X"]

    # the merged log carries the source and the same energy
    merge = run(env, "merge_results.py", "--directory", runs, "--output-dir", results)
    assert merge.returncode == 0, merge.stderr[-3000:]
    (merged,) = results.glob("*.json")
    total = load(merged)["validation"]["monitoring_amdsmi"]["total"]
    assert total["total_power_draw"] == pytest.approx(WATTS * total["total_duration"], rel=0.05)
    assert load(merged)["validation"]["monitoring_amdsmi"]["0"]["energy_method"] == "counter"

    # rated like any other run: the environment names the GPU, the energy is measured
    rated = run(env, "-m", "mlel.ratings", "--directory", results, "--json")
    assert rated.returncode == 0, rated.stderr[-3000:]
    (entry,) = json.loads(rated.stdout)
    assert entry["environment"].startswith("MI300X - PyTorch ")
    assert entry["energy"]["sources"]["amdsmi"] == "measured" and entry["energy"]["estimated"] is False
    assert entry["environment_label"] == entry["environment"]  # no "(estimated)"
    assert entry["energy"]["total_ws"] == pytest.approx(WATTS * window_s, rel=0.05)
    power = next(cell for cell in label_content(entry).cells if cell.kind == "power")
    assert power.detail == "Sources: GPU, CPU" and power.estimated is False

    # ELEx shows what the pipeline rated: the same letter, the source measured, no "(estimated)"
    from mlel.elex import layout, session, state

    data = state.ElexData.load(results)
    # the CLI's default reference (ELEx would open on a model present here: a setting, issue 24)
    settings = session.set_reference(session.default_settings(data), "ResNet101")
    rating = state.rate(data, "inference", settings)
    shown = state.summary(rating, 0)
    assert shown["compound"] == entry["compound"] and shown["environment"] == entry["environment"]
    assert "amdsmi (measured)" in str(layout.summary_view(shown))

