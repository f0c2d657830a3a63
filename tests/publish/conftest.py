"""A small input for the site's tests (read from ../shared and results/, copied into tmp, never into
the repo): the 2022 inference logs of one environment, three of them again under hostile model
names, ten imported ML.ENERGY records of one task and environment, and our own runs of one
environment (estimated energy, three runs per model). The site is published once per session."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlel.importers.cli import main as import_main
from mlel.publish.cli import main as publish_main
from mlel.runlog.logs import load_logs

REPO = Path(__file__).resolve().parents[2]
LEADERBOARD = REPO.parent / "shared" / "reference" / "ml-energy-leaderboard"
ENVIRONMENT = "A100 x8 - PyTorch 1.10.2+cu113"
RECORDS_OF = ("gpqa__", "1-x-B200-vLLM")
RECORDS = 10
OWN_RUNS = "_pytorch_seed"  # results/: one environment of our own (CPU, estimated energy)
HOSTILE = {"../x": "infer_hostile_dots.json",
           "<script>alert(1)</script>": "infer_hostile_script.json",
           "Modèle ünïcødé ✓ " + "N" * 300: "infer_hostile_long.json"}


@pytest.fixture(scope="session")
def small_input(reference_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("publish_input")
    runs, _ = load_logs(reference_dir)
    chosen = [run for run in runs if run.environment == ENVIRONMENT and run.task == "inference"]
    for run in chosen:
        shutil.copy(reference_dir / run.file, folder / run.file)
    for (name, file_name), run in zip(HOSTILE.items(), chosen):
        log = json.loads((reference_dir / run.file).read_text())
        log["config"]["model"] = log["config"]["infer_model"] = name
        (folder / file_name).write_text(json.dumps(log))
    imported = tmp_path_factory.mktemp("publish_imported")
    assert import_main(["mlenergy", str(LEADERBOARD), "--output-dir", str(imported)]) == 0
    records = sorted(p for p in imported.glob("*.json") if p.name.startswith(RECORDS_OF[0]) and RECORDS_OF[1] in p.name)
    for path in records[:RECORDS]:
        shutil.copy(path, folder / path.name)
    for path in sorted((REPO / "results").glob(f"infer_*{OWN_RUNS}*.json")):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def site(small_input, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("publish_site") / "site"
    assert publish_main(["-d", str(small_input), "-o", str(out), "-q"]) == 0
    return out
