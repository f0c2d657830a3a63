"""Issue 27's acceptance, differentially: the ratings CLI, the label tool, ELEx and the paper script
each read a directory of good files beside hostile ones (±1e308, 1e-308, 0, negative, "NaN" as text,
5,000-deep nesting, a FIFO) and show the good files exactly as they do without the hostile ones; and
fuzzed CSV cells never stop an import (hypothesis)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_numbers import EFFICIENTNET, _log, _record, good_and_mixed

ROOT = Path(__file__).resolve().parents[2]
GOOD_MODELS = {"ResNet101", "EfficientNetB0", "chat0", "chat1"}


def _deep(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.fixture(scope="module")
def folders(tmp_path_factory, reference_dir):
    good, mixed = good_and_mixed(tmp_path_factory.mktemp("every_tool"), reference_dir)
    for n, energy in enumerate((1e308, -1e308, 1e-308, 0, -1.0, "NaN")):
        (mixed / f"hostile_log{n}.json").write_text(json.dumps(_log(reference_dir, EFFICIENTNET, f"Hostile{n}", energy)))
    for n, energy in enumerate((-2.0, "NaN", 1e308, 1e-308, 0.0)):
        (mixed / f"hostile_record{n}.json").write_text(json.dumps(_record(f"bad{n}", energy)))
    deep = json.dumps(_record("deep", 1.0)).replace('"task"', f'"configuration": {{"x": {_deep(5000)}}}, "task"', 1)
    (mixed / "deep_record.json").write_text(deep)
    (mixed / "deep_log.json").write_text(_deep(5000))
    os.mkfifo(mixed / "fifo.json")
    return good, mixed


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_the_ratings_cli_rates_the_good_files_as_without_the_hostile(folders):
    good, mixed = folders
    clean = _cli("-m", "mlel.ratings", "-d", str(good), "--json")
    hostile = _cli("-m", "mlel.ratings", "-d", str(mixed), "--json")
    assert clean.returncode == 0 and hostile.returncode == 0, hostile.stderr
    assert "Traceback" not in hostile.stderr
    for name in ("deep_record.json", "deep_log.json", "fifo.json", "hostile_record0.json"):
        assert name in hostile.stderr  # each named
    kept = [s for s in json.loads(hostile.stdout) if s["model"] in GOOD_MODELS]
    assert kept == json.loads(clean.stdout)


def test_the_label_tool_labels_a_good_log_as_without_the_hostile(folders, tmp_path):
    good, mixed = folders
    said = []
    for folder in (good, mixed):
        out = _cli("-m", "mlel.label_generator", "-f", str(folder / EFFICIENTNET), "-d", str(folder),
                   "-o", str(tmp_path / f"{folder.name}.pdf"))
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
        said.append([line for line in (out.stdout + out.stderr).splitlines() if "compound rating" in line])
    assert said[0] == said[1] and len(said[0]) == 1  # "EfficientNetB0 (inference, …): compound rating B"


def test_elex_shows_the_good_entries_as_without_the_hostile(folders):
    from mlel.elex import session, state

    good, mixed = folders
    letters = []
    for folder in (good, mixed):
        data = state.ElexData.load(folder)
        settings_ = session.default_settings(data)
        shown = {}
        for task in data.tasks:
            rating = state.rate(data, task, settings_)
            for row, model in enumerate(rating.table.models):
                if model in GOOD_MODELS:
                    shown[(task, model)] = (int(rating.compound[row]), rating.levels[row].tolist())
        letters.append(shown)
    assert letters[0] == letters[1] and len(letters[0]) == len(GOOD_MODELS)
    assert any("fifo.json" in problem for problem in state.ElexData.load(mixed).problems)


def test_the_paper_script_writes_the_good_tables_as_without_the_hostile(folders, tmp_path):
    good, mixed = folders
    outs = []
    for folder in (good, mixed):
        out = _cli("create_paper_results.py", "--directory", str(folder), "--output-dir", str(tmp_path / folder.name))
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
        outs.append(tmp_path / folder.name)
    clean, hostile = ((out / "indexing-results.tex").read_text() for out in outs)
    assert clean == hostile  # the paper's table shows its models; the hostile ones are none of them


# fuzzed CSV cells: one bad cell skips its row, named; the others are imported ------------------

TABLE_HEAD = "model,gpu,energy_wh\n"
EDGES = st.sampled_from(["1e308", "-1e308", "1e-308", "0", "-1", "nan", "inf", "-inf", "1_000", "١٢", "true",
                         "", "  ", "1e999", "0x10", "1,5", "5 Wh", "2 kWh", "1e308 kWh", "--1", ".5", "5."])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cell=st.one_of(EDGES, st.text(max_size=12), st.floats(allow_nan=True, allow_infinity=True).map(repr)))
def test_a_fuzzed_cell_never_stops_an_import(tmp_path, cell):
    from mlel.importers.table import ColumnMap, TableMapping, import_csv

    cell = cell.replace('"', "").replace("\n", " ").replace("\r", " ").replace(",", ";").replace("\x00", "")
    path = tmp_path / "t.csv"
    path.write_text(TABLE_HEAD + "first,A100,1.5\n" + f"fuzzed,A100,{cell}\n" + "last,A100,2.5\n")
    mapping = TableMapping(task="generic", model="model", environment=("gpu",),
                           properties=(ColumnMap.parse("energy_per_run=energy_wh:Wh"),))
    report = import_csv(path, mapping)  # never raises
    models = {record.model for record in report.records}
    assert {"first", "last"} <= models
    if "fuzzed" not in models:  # skipped: named by file and row (a blank cell is "no value", not an error)
        assert any(p.file == "t.csv" and p.row == 1 for p in report.problems) or not cell.strip()
    else:
        [fuzzed] = [r for r in report.records if r.model == "fuzzed"]
        value = fuzzed.value("energy_per_run")
        assert value is None or (value >= 0 and value == value and value != float("inf"))


# fuzzed records: any number, any nesting depth, beside good files --------------------------------

NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-10**400, max_value=10**400),
                    st.sampled_from([1e308, -1e308, 1e-308, 5e-324, 0.0, -0.0, True, "NaN", "1e999", None]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=NUMBERS, depth=st.integers(min_value=0, max_value=6000))
def test_a_fuzzed_record_beside_good_files_changes_nothing_else(tmp_path_factory, reference_dir, value, depth):
    from mlel.ratings import RatingOptions
    from mlel.ratings.report import rate_directory

    folder = tmp_path_factory.mktemp("fuzzed")
    for n, energy in enumerate((0.5, 0.7)):
        (folder / f"chat{n}.json").write_text(json.dumps(_record(f"chat{n}", energy, row=n)))
    clean = [r.to_dict() for r in rate_directory(folder, RatingOptions()).records]
    # in an environment of its own: a valid value there may rate as it likes, the others must not move
    record = json.dumps(_record("fuzzed", 1.0)).replace("1.0", "__VALUE__", 1).replace('"B200"', '"H100"', 1)
    text = json.dumps(value) if not isinstance(value, int) or isinstance(value, bool) else str(value)
    record = record.replace("__VALUE__", text.replace("Infinity", "1e999").replace("NaN", '"NaN"'))
    if depth:
        record = record.replace('"task"', f'"configuration": {{"x": {_deep(depth)}}}, "task"', 1)
    (folder / "fuzzed.json").write_text(record)
    report = rate_directory(folder, RatingOptions())  # never raises
    kept = [r.to_dict() for r in report.records if r.model in ("chat0", "chat1")]
    assert kept == clean
