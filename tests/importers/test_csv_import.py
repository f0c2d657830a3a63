"""The generic CSV importer: --map options or a mapping file, units per mapping or per cell, and
bad input reported by file, row and field while the rest is imported."""
from __future__ import annotations

import json

import pytest

from mlel.base import units
from mlel.importers.cli import main
from mlel.importers.table import ColumnMap, TableMapping, import_csv
from mlel.results import read_result_records

TABLE = """model,gpu,framework,energy_kwh,seconds,accuracy
small,A100,PyTorch,0.001,3.5,0.81
large,A100,PyTorch,2 Wh,7.0,0.88
bad-number,A100,PyTorch,lots,1.0,0.5
bad-unit,A100,PyTorch,3 parsec,1.0,0.5
,A100,PyTorch,0.001,1.0,0.5
no-gpu,,PyTorch,0.001,1.0,0.5
too-wide,A100,PyTorch,0.001,1.0,0.5,surplus
empty,A100,PyTorch,,,
"""


@pytest.fixture()
def table(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text(TABLE)
    return path


def _mapping(**changes):
    values = dict(task="generic", model="model", environment=("gpu", "framework"),
                  properties=(ColumnMap.parse("energy_per_run=energy_kwh:kWh"), ColumnMap.parse("runtime=seconds"),
                              ColumnMap.parse("quality=accuracy")))
    values.update(changes)
    return TableMapping(**values)


def test_good_rows_imported_with_units_converted_per_mapping_and_per_cell(table):
    report = import_csv(table, _mapping())
    by_model = {r.model: r for r in report.records}
    assert set(by_model) == {"small", "large"}
    assert by_model["small"].value("energy_per_run") == pytest.approx(0.001 * units.J_PER_KWH)
    assert by_model["large"].value("energy_per_run") == pytest.approx(2 * units.J_PER_WH)  # the cell's unit wins
    assert by_model["small"].properties["energy_per_run"].unit == "J"
    assert by_model["small"].value("runtime") == 3.5 and by_model["small"].value("quality") == 0.81
    assert by_model["small"].environment.name == "A100 - PyTorch"
    assert by_model["small"].provenance == type(by_model["small"].provenance)("CSV", "results.csv", 0)


def test_every_bad_row_is_reported_by_file_row_and_field(table):
    report = import_csv(table, _mapping())
    found = {(p.file, p.row, p.field) for p in report.problems}
    assert found == {("results.csv", 2, "energy_kwh"), ("results.csv", 3, "energy_kwh"),
                     ("results.csv", 4, "model"), ("results.csv", 5, "gpu"), ("results.csv", 6, None),
                     ("results.csv", 7, "energy_kwh,seconds,accuracy")}
    reasons = {p.row: p.reason for p in report.problems}
    assert "cannot convert" in reasons[3] or "unknown unit" in reasons[3]
    assert "malformed row" in reasons[6]


def test_a_missing_column_is_reported_once_and_the_rest_imported(table):
    mapping = _mapping(properties=_mapping().properties + (ColumnMap.parse("avg_power=watts"),))
    report = import_csv(table, mapping)
    assert ("watts", None) in {(p.field, p.row) for p in report.problems}
    assert {r.model for r in report.records} == {"small", "large"}
    assert report.records[0].value("avg_power") is None


def test_mapping_file_and_cli_options_override_it(table, tmp_path, capsys):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"task": "generic", "model": "model", "environment": ["gpu", "framework"],
                                   "properties": {"energy_per_run": {"column": "energy_kwh", "unit": "kWh"},
                                                  "runtime": "seconds"}}))
    out = tmp_path / "out"
    assert main(["csv", str(table), "--mapping", str(mapping), "--output-dir", str(out), "--source", "measured"]) == 0
    records = [r for _, r in read_result_records(out).records]
    assert len(records) == 2
    assert {p.source for r in records for p in r.properties.values()} == {"measured"}
    assert "results.csv, row 2: energy_kwh:" in capsys.readouterr().err


def test_task_properties_and_own_property_file(table, tmp_path, capsys):
    base = ["csv", str(table), "--output-dir", str(tmp_path / "out"), "--model", "model", "--environment", "gpu"]
    assert main(base + ["--task", "lm-arena-chat", "--map", "energy_per_token=energy_kwh"]) == 0
    own = tmp_path / "props.json"
    own.write_text(json.dumps({"task": "mine", "properties": {"f1": {
        "name": "F1", "unit": "%", "higher_is_better": True, "group": "Quality", "weight": 1.0}}}))
    assert main(base + ["--task", "mine", "--properties", str(own), "--map", "f1=accuracy:fraction"]) == 0
    mine = [r for _, r in read_result_records(tmp_path / "out").records if r.task == "mine"]
    assert sorted(r.value("f1") for r in mine) == pytest.approx([50.0, 50.0, 81.0, 88.0])  # rows 2, 3 too
    assert main(base + ["--task", "no-such-task", "--map", "x=accuracy"]) == 2


def test_nothing_importable_exits_1_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("model,gpu,energy\n,,\n")
    out = tmp_path / "out"
    argv = ["csv", str(path), "--output-dir", str(out), "--model", "model", "--environment", "gpu", "--task", "generic",
            "--map", "energy_per_run=energy"]
    assert main(argv) == 1
    assert not out.exists()
    assert main(argv[:-2] + ["--map", "broken"]) == 2
    assert main(["csv", str(path), "--output-dir", str(out), "--task", "generic"]) == 2  # no --model/--environment
