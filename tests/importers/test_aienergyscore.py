"""The AI Energy Score importer on the four published task tables (../shared, never copied), its
command, its property sets, and bad input named by file, row and field."""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from mlel.base.errors import UsageError
from mlel.importers.aienergyscore import TASKS, import_aienergyscore
from mlel.importers.cli import main
from mlel.importers.property_units import convert
from mlel.ratings.report import load_entries
from mlel.results import read_result_records
from mlel.tasks.properties import load_property_set
from mlel.tasks.schemes import load_scheme

TABLES = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "ai-energy-score"
PUBLISHED_ROWS = {"image_classification": 23, "asr": 13, "summarization": 11, "object_detection": 7}
HEADER = "model,total_gpu_energy,energy_score"


@pytest.fixture(scope="module")
def tables() -> Path:
    if not all((TABLES / f"{stem}.csv").is_file() for stem in PUBLISHED_ROWS):
        pytest.fail(f"the AI Energy Score tables are missing: expected {', '.join(PUBLISHED_ROWS)} .csv in {TABLES}")
    return TABLES


@pytest.fixture(scope="module")
def published(tables) -> dict[str, list[dict]]:
    """Each table's rows as the csv module reads them, by file name."""
    out = {}
    for stem in PUBLISHED_ROWS:
        with open(tables / f"{stem}.csv", newline="", encoding="utf-8") as handle:
            out[f"{stem}.csv"] = list(csv.DictReader(handle))
    return out


@pytest.fixture(scope="module")
def report(tables):
    return import_aienergyscore(tables)


def test_every_published_row_is_one_record(report, published):
    assert report.problems == []
    assert {f: len(rows) for f, rows in published.items()} == {f"{s}.csv": n for s, n in PUBLISHED_ROWS.items()}
    assert report.counts_by_task() == {"asr": 13, "image-classification": 23, "object-detection": 7,
                                       "summarization": 11}
    assert sorted((r.provenance.file, r.provenance.row) for r in report.records) == sorted(
        (file, row) for file, rows in published.items() for row in range(len(rows)))


def test_each_record_holds_its_rows_energy_and_stars_as_reported(report, published):
    for record in report.records:
        row = published[record.provenance.file][record.provenance.row]
        assert record.task == TASKS[Path(record.provenance.file).stem]
        assert record.model == record.name == row["model"]
        energy = record.properties["gpu_energy_per_query"]
        assert (energy.value, energy.unit, energy.source) == (float(row["total_gpu_energy"]), "Wh/query", "reported")
        stars = record.properties["energy_score"]
        assert (stars.value, stars.unit, stars.source) == (int(row["energy_score"]), "stars", "reported")
        assert record.environment.to_dict() == {"hardware": "H100", "software": "AI Energy Score",
                                                "name": "H100 - AI Energy Score"}
        assert record.provenance.tool == "AI Energy Score"
        assert record.configuration == {}  # no class column in these four tables


def test_a_model_listed_twice_is_two_records_of_one_entry_and_is_noted(report):
    names = Counter((r.task, r.name) for r in report.records)
    assert {key for key, n in names.items() if n > 1} == {
        ("image-classification", "microsoft/swinv2-large-patch4-window12-192-22k"),
        ("object-detection", "facebook/detr-resnet-50-dc5")}
    assert any("object_detection.csv rows 1, 2: facebook/detr-resnet-50-dc5 appears 2 times" in n for n in report.notes)
    assert len(report.notes) == 2


def test_the_command_writes_records_that_pool_and_rerun_unchanged(tables, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["aienergyscore", str(tables), "--output-dir", str(out)]) == 0
    printed = capsys.readouterr()
    assert "imported 54 records (asr 13, image-classification 23, object-detection 7, summarization 11)" in printed.out
    assert "54 written, 0 unchanged; 0 skipped" in printed.out
    assert "facebook/detr-resnet-50-dc5 appears 2 times" in printed.err
    scan = read_result_records(out)
    assert len(scan.records) == 54 and scan.problems == () and scan.foreign == ()
    entries, problems, _ = load_entries(out)
    assert problems == [] and len(entries) == 52  # two models measured twice: one entry each
    pooled = next(e for e in entries if e.name == "facebook/detr-resnet-50-dc5")
    assert len(pooled.logs) == 2 and pooled.values["energy_score"] == 4
    assert pooled.values["gpu_energy_per_query"] == pytest.approx((0.003291817 + 0.003278611) / 2)
    assert main(["aienergyscore", str(tables), "--output-dir", str(out)]) == 0
    assert "0 written, 54 unchanged" in capsys.readouterr().out
    assert len(list(out.iterdir())) == 54


def test_one_file_and_a_task_for_a_file_not_named_after_it(tables, tmp_path):
    one = import_aienergyscore(tables / "asr.csv")
    assert one.counts_by_task() == {"asr": 13} and one.problems == []
    renamed = tmp_path / "leaderboard (3).csv"
    renamed.write_bytes((tables / "object_detection.csv").read_bytes())
    unnamed = import_aienergyscore(renamed)
    assert unnamed.records == [] and unnamed.problems[0].file == "leaderboard (3).csv"
    assert "object_detection" in unnamed.problems[0].reason and "--task" in unnamed.problems[0].reason
    for task in ("object_detection", "object-detection"):
        named = import_aienergyscore(renamed, task=task)
        assert named.counts_by_task() == {"object-detection": 7}
        assert named.records[0].provenance.file == "leaderboard (3).csv"


def test_a_class_column_becomes_the_configuration(tmp_path):
    path = tmp_path / "text_generation.csv"
    path.write_text("model,total_gpu_energy,energy_score,class\nsmall/lm,0.1,5,A\nbig/lm,2.5,1,C\n")
    report = import_aienergyscore(path)
    assert report.problems == [] and [r.task for r in report.records] == ["text-generation"] * 2
    assert [dict(r.configuration) for r in report.records] == [{"class": "A"}, {"class": "C"}]
    assert report.records[1].to_dict()["configuration"] == {"class": "C"}


def test_the_stars_are_optional_but_never_wrong(tmp_path):
    path = tmp_path / "asr.csv"
    path.write_text("model,total_gpu_energy\na/b,0.02\n")
    record = import_aienergyscore(path).records[0]
    assert "energy_score" not in record.properties and record.value("gpu_energy_per_query") == 0.02


@pytest.mark.parametrize("body, field, row, reason", [
    ("a/b,abc,3", "total_gpu_energy", 1, "not a number: 'abc'"),
    ("a/b,-0.5,3", "total_gpu_energy", 1, "must be above 0"),
    ("a/b,0,3", "total_gpu_energy", 1, "must be above 0"),
    ("a/b,inf,3", "total_gpu_energy", 1, "not a finite number"),
    ("a/b,nan,3", "total_gpu_energy", 1, "not a finite number"),
    ("a/b,,3", "total_gpu_energy", 1, "empty"),
    (",0.01,3", "model", 1, "empty"),
    ("a/b,0.01,6", "energy_score", 1, "from 1 to 5"),
    ("a/b,0.01,2.5", "energy_score", 1, "from 1 to 5"),
    ("a/b,0.01,many", "energy_score", 1, "not a number"),
    ("a/b,0.01", None, 1, "malformed row"),
])
def test_a_bad_row_is_skipped_by_file_row_and_field_and_the_rest_imported(tmp_path, body, field, row, reason):
    path = tmp_path / "summarization.csv"
    path.write_text(f"{HEADER}\ngood/model,0.002,5\n{body}\nlast/model,0.004,1\n")
    report = import_aienergyscore(path)
    assert [r.model for r in report.records] == ["good/model", "last/model"]
    [problem] = report.problems
    assert (problem.file, problem.row, problem.field) == ("summarization.csv", row, field)
    assert reason in problem.reason
    assert str(problem).startswith(f"summarization.csv, row {row}: {field + ': ' if field else ''}")


def test_an_empty_class_is_a_named_problem(tmp_path):
    path = tmp_path / "text_generation.csv"
    path.write_text("model,total_gpu_energy,energy_score,class\na/b,0.1,5,\n")
    [problem] = import_aienergyscore(path).problems
    assert (problem.file, problem.row, problem.field) == ("text_generation.csv", 0, "class")


@pytest.mark.parametrize("header, missing", [("name,total_gpu_energy,energy_score", "model"),
                                             ("model,gpu_energy,energy_score", "total_gpu_energy")])
def test_a_missing_column_skips_the_table_naming_the_column(tmp_path, header, missing):
    path = tmp_path / "asr.csv"
    path.write_text(f"{header}\na/b,0.01,3\n")
    report = import_aienergyscore(path)
    assert report.records == []
    [problem] = report.problems
    assert (problem.file, problem.field) == ("asr.csv", missing) and header in problem.reason


def test_a_folder_imports_what_it_can_and_names_an_unknown_task(tables, tmp_path):
    (tmp_path / "asr.csv").write_bytes((tables / "asr.csv").read_bytes())
    (tmp_path / "cooking.csv").write_text(f"{HEADER}\na/b,0.01,3\n")
    (tmp_path / "README.md").write_text("not a table")
    report = import_aienergyscore(tmp_path)
    assert report.counts_by_task() == {"asr": 13}
    [problem] = report.problems
    assert problem.file == "cooking.csv" and "'cooking'" in problem.reason
    assert all(stem in problem.reason for stem in TASKS)


def test_bad_arguments_are_usage_errors_naming_the_known_tasks(tables, tmp_path, capsys):
    with pytest.raises(UsageError, match="known tasks: .*object_detection"):
        import_aienergyscore(tables, task="cooking")
    with pytest.raises(UsageError, match="no such file"):
        import_aienergyscore(tmp_path / "absent")
    with pytest.raises(UsageError, match="no AI Energy Score tables"):
        import_aienergyscore(tmp_path)
    assert main(["aienergyscore", str(tables), "--task", "cooking", "--output-dir", str(tmp_path / "o")]) == 2
    assert "known tasks" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_a_failed_import_names_the_field_and_keeps_what_was_written(tables, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["aienergyscore", str(tables / "asr.csv"), "--output-dir", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "asr.csv"
    bad.write_text(f"{HEADER}\na/b,-1,3\n")
    capsys.readouterr()
    assert main(["aienergyscore", str(bad), "--output-dir", str(out)]) == 1
    err = capsys.readouterr().err
    assert "skipped: asr.csv, row 0: total_gpu_energy: must be above 0" in err and "nothing imported" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_help_teaches_the_file_names_and_columns(capsys):
    with pytest.raises(SystemExit):
        main(["aienergyscore", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for words in ("image_classification.csv", "model,total_gpu_energy", "--task", "--output-dir", "Wh/query"):
        assert words in text


@pytest.mark.parametrize("task", sorted(TASKS.values()))
def test_each_task_has_its_property_set_and_scheme(task):
    property_set = load_property_set(task)
    assert property_set.task == task and property_set.display_name.endswith("(AI Energy Score)")
    assert property_set.keys == ("gpu_energy_per_query",)
    assert property_set.label_tiles == ("gpu_energy_per_query",)
    prop = property_set["gpu_energy_per_query"]
    assert (prop.name, prop.unit, prop.higher_is_better, prop.group, prop.weight, prop.boundaries) == (
        "GPU energy per query", "Wh/query", False, "Resources", 1.0, None)
    assert property_set.scheme == "ai-energy-score" and load_scheme(property_set.scheme).name == "ai-energy-score"
    assert convert(1.0, prop.unit, "J/query") == 3600.0 and convert(1.0, "Wh/1000 queries", prop.unit) == 0.001
