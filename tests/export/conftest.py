"""Fixtures of the export tests: the three kinds of results (the 2022 logs, our own results/, records
imported from ML.ENERGY, AI Energy Score and CodeCarbon), what `python -m mlel.ratings --json` says
of them, and a validator of the shared BoAmps schema (its $refs resolved over the local files)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlel.importers.cli import main as import_main

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "reference"
BOAMPS = REFERENCE / "boamps"

# a CodeCarbon emissions.csv, as its tracker writes one (the columns the importer reads): two GPU runs
# and one run on a CPU alone; kWh
CODECARBON_CSV = """\
timestamp,project_name,run_id,experiment_id,duration,cpu_energy,gpu_energy,ram_energy,energy_consumed,\
country_iso_code,codecarbon_version,cpu_model,gpu_count,gpu_model
2025-05-01T10:00:00,bert-finetune,aaaa1111-0000,exp-1,120.5,0.0012,0.0081,0.0004,0.0097,FRA,2.8.3,\
Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz,2,2 x NVIDIA A100-SXM4-40GB
2025-05-01T11:00:00,bert-finetune,bbbb2222-0000,exp-2,98.0,0.0010,0.0066,0.0003,0.0079,FRA,2.8.3,\
Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz,2,2 x NVIDIA A100-SXM4-40GB
2025-05-01T12:00:00,svm-baseline,cccc3333-0000,exp-3,30.0,0.0002,0,0.00005,0.00025,DEU,2.8.3,\
AMD EPYC 7742 64-Core Processor,0,
"""


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"shared reference data missing: expected {path} (../shared beside the repository)")
    return path


@pytest.fixture(scope="session")
def dirs_2022() -> Path:
    return _require(REFERENCE / "mlee-2022" / "results")


@pytest.fixture(scope="session")
def own_results() -> Path:
    return _require(REPO / "results")


LEADERBOARD_ROWS = 12  # configurations per ML.ENERGY task file: every task, tests well under a second


def _leaderboard_sample(folder: Path) -> Path:
    """The ML.ENERGY leaderboard's first configurations of each task file, in its own layout (a
    temporary folder; the data stays in ../shared)."""
    source = _require(REFERENCE / "ml-energy-leaderboard")
    (folder / "tasks").mkdir(parents=True)
    (folder / "index.json").write_bytes((source / "index.json").read_bytes())
    for path in sorted((source / "tasks").glob("*.json")):
        data = json.loads(path.read_text())
        data["configurations"] = data["configurations"][:LEADERBOARD_ROWS]
        (folder / "tasks" / path.name).write_text(json.dumps(data))
    return folder


@pytest.fixture(scope="session")
def imported(tmp_path_factory) -> Path:
    """Records of three importers in one folder: the first configurations of each ML.ENERGY
    leaderboard task, AI Energy Score tables (Wh per query) and a CodeCarbon emissions.csv."""
    out = tmp_path_factory.mktemp("imported")
    emissions = out.parent / "emissions.csv"
    emissions.write_text(CODECARBON_CSV)
    leaderboard = _leaderboard_sample(out.parent / "leaderboard")
    for argv in (["mlenergy", str(leaderboard)],
                 ["aienergyscore", str(_require(REFERENCE / "ai-energy-score"))],
                 ["codecarbon", str(emissions), "--samples", "100"]):  # adds energy_per_sample
        assert import_main(argv + ["--output-dir", str(out)]) == 0, argv
    return out


def ratings_json(*directories: Path, options: tuple[str, ...] = ()) -> list[dict]:
    """What `python -m mlel.ratings -d DIR --json [OPTIONS]` prints, one directory at a time, concatenated."""
    rated = []
    for directory in directories:
        done = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(directory), "--json", *options],
                              capture_output=True, check=True, cwd=REPO)
        rated += json.loads(done.stdout)
    return rated


@pytest.fixture(scope="session")
def rated_json(dirs_2022, own_results, imported) -> dict[str, list[dict]]:
    return {"2022": ratings_json(dirs_2022), "own": ratings_json(own_results), "imported": ratings_json(imported)}


@pytest.fixture(scope="session")
def boamps_validator():
    """A Draft 4 validator of report_schema.json whose $refs (absolute BoAmps URLs) resolve to the
    shared schema files: nothing is fetched."""
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    schemas = [json.loads(path.read_text()) for path in sorted(_require(BOAMPS).glob("*_schema.json"))]
    registry = Registry().with_resources(
        (schema["id"], Resource.from_contents(schema, default_specification=DRAFT4)) for schema in schemas)
    root = next(schema for schema in schemas if schema["title"] == "report")
    return Draft4Validator(root, registry=registry)
