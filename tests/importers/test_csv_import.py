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


# --- large tables (issue 27): read, converted and written row by row ---------------------------------

def _sweep(path, rows: int, bad_every: int = 0) -> None:
    lines = ["run_id,model,gpu,energy_wh"]
    for i in range(rows):
        energy = "n/a" if bad_every and i % bad_every == bad_every - 1 else f"{0.002 + (i % 97) * 1e-5:.6f}"
        lines.append(f"{i:032x},sweep-model-{i // 4:06d},{('A100', 'H100')[i % 2]},{energy}")
    path.write_text("\n".join(lines) + "\n")


def _sweep_argv(path, out) -> list[str]:
    return ["csv", str(path), "--output-dir", str(out), "--task", "generic", "--model", "model",
            "--environment", "gpu", "--map", "energy_per_sample=energy_wh:Wh"]


def test_a_20000_row_import_holds_neither_rows_nor_records(tmp_path, capsys):
    """Peak Python memory of the whole import (read, convert, write) stays far below what holding
    the rows or the records takes (about 1.5 KB a row: 30 MB here); the code before issue 27 peaked
    near that."""
    import tracemalloc

    path = tmp_path / "sweep.csv"
    _sweep(path, 20_000)
    tracemalloc.start()
    try:
        assert main(_sweep_argv(path, tmp_path / "out")) == 0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "20000 records" in capsys.readouterr().out
    print(f"peak {peak / 1e6:.1f} MB")
    assert peak < 6_000_000, f"peak {peak / 1e6:.1f} MB: rows or records are held"


def test_rows_are_taken_one_at_a_time_and_each_record_written_as_it_comes(tmp_path):
    from mlel.importers.common import ImportReport, write_stream
    from mlel.importers.table import stream_rows

    taken = []

    def rows():
        for i in range(1000):
            taken.append(i)
            yield {"model": f"m{i}", "gpu": "A100", "energy_wh": "0.5"}

    mapping = TableMapping(task="generic", model="model", environment=("gpu",),
                           properties=(ColumnMap.parse("energy_per_sample=energy_wh:Wh"),))
    records = stream_rows(rows(), ["model", "gpu", "energy_wh"], mapping, ImportReport(), file="t.csv",
                          tool="CSV", property_set=None)
    assert taken == []  # nothing read before the first record is asked for
    first = next(records)
    assert first.model == "m0" and taken == [0]
    out = tmp_path / "out"

    def checked():
        yield first
        for n, record in enumerate(records, 1):
            assert len(taken) == n + 1  # one row read per record
            assert len(list(out.iterdir())) == n  # every record before this one is already on disk
            yield record

    summary = write_stream(checked(), out)
    assert summary.written == 1000 and summary.records == 1000


def test_streamed_import_names_repeats_and_refuses_like_write_records(tmp_path, capsys):
    """Repeated rows of one entry get the same numbered files as write_records gives them; a re-import
    leaves every file unchanged; an entry another source wrote is refused and said."""
    from mlel.importers.common import write_records

    path = tmp_path / "sweep.csv"
    _sweep(path, 40)  # each model twice on each GPU: two runs of one entry
    out = tmp_path / "out"
    assert main(_sweep_argv(path, out)) == 0
    expected = write_records(import_csv(path, TableMapping(
        task="generic", model="model", environment=("gpu",),
        properties=(ColumnMap.parse("energy_per_sample=energy_wh:Wh"),))).records, tmp_path / "all")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in expected.written)
    assert len(expected.written) == 40
    capsys.readouterr()
    assert main(_sweep_argv(path, out)) == 0
    assert "0 written, 40 unchanged" in capsys.readouterr().out
    other = tmp_path / "other.csv"
    other.write_bytes(path.read_bytes())
    assert main(_sweep_argv(other, out)) == 1
    captured = capsys.readouterr()
    assert "0 written, 0 unchanged, 40 refused" in captured.out
    assert "refused: other.csv, row 0:" in captured.err and "sweep.csv" in captured.err


def test_a_streamed_import_lists_the_first_1000_problems_and_counts_the_rest(tmp_path, capsys):
    path = tmp_path / "sweep.csv"
    _sweep(path, 3000, bad_every=2)
    assert main(_sweep_argv(path, tmp_path / "out")) == 0
    captured = capsys.readouterr()
    listed = [line for line in captured.err.splitlines() if line.startswith("skipped: sweep.csv, row")]
    assert len(listed) == 1000
    assert "skipped: 500 more rows, not listed (the first 1000 are)" in captured.err
    assert "imported 1500 records" in captured.out and "; 1500 skipped" in captured.out


def test_an_unreadable_row_half_way_stops_the_import_and_says_what_was_written(tmp_path, capsys):
    path = tmp_path / "sweep.csv"
    _sweep(path, 3000)
    with open(path, "ab") as handle:
        handle.write(b"x,bad-\xff-bytes,A100,0.1\n")  # not UTF-8: found only when reached
    out = tmp_path / "out"
    assert main(_sweep_argv(path, out)) == 1  # InputError
    err = capsys.readouterr().err
    assert "not a readable CSV" in err and "records before it were written" in err
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp file left
