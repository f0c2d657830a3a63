"""Every reader of merged logs over a directory of hostile and randomly mutated real logs (issue 15):
no traceback, every file rated or named, every invalid value named — ratings CLI, labels, paper, ELEx."""
from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from hostile_logs import INFERENCE_LOG, REFERENCE_RESULTS, TRAINING_LOG, load, write_cases
from mlel.runlog.logs import load_logs

REPO = Path(__file__).resolve().parents[1]
MUTATED = 400
_LEAVES = [None, True, -1, 0, -1e308, 1e308, 10 ** 400, float("nan"), float("inf"), "12", "", [], {}, [1, 2],
           {"v": 1}, 67.05]

pytestmark = pytest.mark.skipif(not REFERENCE_RESULTS.is_dir(), reason="../shared reference logs missing")


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:2]):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _mutate(log: dict, rng: random.Random) -> bytes:
    """One random mutation: a leaf replaced, a key deleted, a container retyped, deep nesting, or the
    file truncated."""
    log = copy.deepcopy(log)
    path = rng.choice(list(_paths(log)))
    parent = log
    for part in path[:-1]:
        parent = parent[part]
    action = rng.choice(["leaf", "leaf", "delete", "retype", "deep", "truncate"])
    if action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "retype":
        old = parent[path[-1]]
        parent[path[-1]] = list(old.values()) if isinstance(old, dict) else {"v": old}
    elif action == "deep":
        parent[path[-1]] = "__deep__"
    else:
        parent[path[-1]] = rng.choice(_LEAVES)
    raw = json.dumps(log).encode().replace(b'"__deep__"', b"[" * 3000 + b"]" * 3000)
    return raw[: rng.randrange(len(raw))] if action == "truncate" else raw


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile")
    write_cases(directory)
    rng = random.Random(15)
    bases = [load(INFERENCE_LOG), load(TRAINING_LOG)]
    for number in range(MUTATED):
        (directory / f"mutated_{number:03d}.json").write_bytes(_mutate(bases[number % 2], rng))
    for good in (INFERENCE_LOG, TRAINING_LOG):  # something rateable among them
        (directory / f"good_{good.name}").write_bytes(good.read_bytes())
    return directory


def test_ratings_cli_names_every_file_it_does_not_rate_and_every_invalid_value(hostile_dir):
    proc = subprocess.run([sys.executable, "-m", "mlel.ratings", "--directory", str(hostile_dir), "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert "Traceback" not in proc.stderr and proc.returncode == 0, proc.stderr[-3000:]
    rated_files = {name for entry in json.loads(proc.stdout) for name in entry["logs"]}
    runs, problems = load_logs(hostile_dir)
    files = sorted(p.name for p in hostile_dir.glob("*.json"))
    skipped = {p.file for p in problems}
    assert set(files) == rated_files | skipped  # every file rated or skipped ...
    assert all(name in proc.stderr for name in skipped)  # ... and every skipped one named
    with_invalid = [run for run in runs if run.problems]
    assert with_invalid  # the mutations do reach values, not only structure
    for run in with_invalid:  # a rated log with an invalid value: the value is named beside its file
        assert run.file in proc.stderr, run.file
    print(f"{len(files)} files: {len(rated_files)} rated ({len(with_invalid)} with invalid values, "
          f"each named), {len(skipped)} skipped and named")


def test_label_tool_never_raises_on_a_hostile_log(hostile_dir, tmp_path):
    from mlel.labels.cli import main

    codes = {}
    for path in sorted(hostile_dir.glob("*.json"))[::6]:
        codes[path.name] = main(["-f", str(path), "-d", str(hostile_dir), "-r", "VGG16",
                                 "-o", str(tmp_path / "l.pdf")])
    assert set(codes.values()) <= {0, 1, 2}
    assert codes.get(f"good_{INFERENCE_LOG.name}", 0) == 0


def test_paper_and_elex_read_the_directory_and_list_what_they_skip(hostile_dir, tmp_path):
    from mlel.elex.state import ElexData
    from mlel.paper.outputs import create_paper_results

    data = ElexData.load(hostile_dir)
    _, problems = load_logs(hostile_dir)
    shown = "\n".join(map(str, data.problems))
    assert all(p.file in shown for p in problems)  # a list by name, not a count
    create_paper_results(hostile_dir, tmp_path / "paper", models=())
