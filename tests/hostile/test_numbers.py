"""Issue 27, numbers at the edges: one rule for numbers, and no finite input crashes the rating.

Each test names the audit's case it pins (1: overflow of pooled statistics; 2: an index that
overflows is named; 3: a negative energy, time or power is invalid; 4: one strict number parser;
5: one bad cell skips its row only, named). Real logs of ``reference_dir`` are templates, copied to
tmp dirs."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mlel
from mlel.importers.codecarbon import import_codecarbon
from mlel.importers.table import ColumnMap, TableMapping, import_csv
from mlel.ratings import RatingOptions, rate_entries
from mlel.ratings.entries import entries_from_records
from mlel.ratings.intervals import mean_interval
from mlel.ratings.rated import ModelResult
from mlel.ratings.settings import SettingsError, parse_boundaries
from mlel.ratings.uncertainty import index_stats, population_std, value_stats
from mlel.results import RecordError, ResultRecord, read_result_records
from mlel.tasks.properties import PropertySet

ROOT = Path(mlel.__file__).resolve().parents[1]  # the tree under test (its CLI runs from there)
RESNET101 = "infer_2022_03_03_17_21_20.json"  # A100 x8 TensorFlow, the reference
EFFICIENTNET = "infer_2022_03_03_17_30_03.json"  # EfficientNetB0, same environment


def ratings_cli(directory, *args):
    return subprocess.run([sys.executable, "-m", "mlel.ratings", "--directory", str(directory), "--json", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def _log(reference_dir, name: str, model: str | None = None, energy=None) -> dict:
    log = json.loads((reference_dir / name).read_text())
    if model is not None:
        log["config"]["model"] = model
    if energy is not None:
        log["validation"]["monitoring_pynvml"]["total"]["total_power_draw"] = energy
    return log


def _record(model: str, energy, unit: str = "J/token", task: str = "lm-arena-chat", row: int = 0) -> dict:
    return {"schema": "mlee-result/1", "task": task, "model": model,
            "environment": {"hardware": "B200", "software": "vLLM"},
            "properties": {"energy_per_token": {"value": energy, "unit": unit, "source": "reported"}},
            "provenance": {"tool": "test", "file": "t.json", "row": row}}


# 1 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("runs", [[1e155, 2e155], [1e308, 1.7e308], [-1e308, 1e308], [1e-300, 3e-300]])
def test_statistics_of_any_finite_runs_are_finite_never_an_exception(runs):
    stats = value_stats(runs)
    assert math.isfinite(stats.mean) and min(runs) <= stats.mean <= max(runs)
    assert stats.std is None or math.isfinite(stats.std)
    assert math.isfinite(population_std(runs))
    interval = mean_interval(runs, (0.0, math.inf))
    assert interval is None or all(math.isfinite(b) for b in interval)
    if min(runs) > 0:
        index = index_stats(stats, value_stats([1.0, 1.1]), higher_is_better=True)
        assert index.ci95 is None or all(math.isfinite(b) for b in index.ci95)


def test_statistics_keep_their_bits_for_ordinary_runs():
    runs = [0.1, 0.2, 0.7, 33650.798759189944]
    mean = math.fsum(runs) / len(runs)
    assert value_stats(runs).mean == mean
    assert population_std(runs) == math.sqrt(math.fsum((v - mean) ** 2 for v in runs) / len(runs))


def test_two_pooled_logs_of_1e155_joules_are_rated(tmp_path, reference_dir):
    shutil.copy(reference_dir / RESNET101, tmp_path / RESNET101)
    for n, energy in enumerate((1e155, 3e155)):
        (tmp_path / f"big_{n}.json").write_text(json.dumps(_log(reference_dir, EFFICIENTNET, energy=energy)))
    out = ratings_cli(tmp_path)
    assert out.returncode == 0, out.stderr
    (big,) = [e for e in json.loads(out.stdout) if e["model"] == "EfficientNetB0"]
    assert big["n_runs"] == 2 and math.isfinite(big["metrics"]["inference_power_draw"]["value"])
    assert all(math.isfinite(s) for s in big["spread"].values())


def test_two_pooled_records_of_1e155_are_entries(tmp_path):
    records = [(f"r{n}.json", ResultRecord.from_dict(_record("Big", energy, row=n)))
               for n, energy in enumerate((1e155, 3e155, 1.7e308))]
    (entry,) = entries_from_records(records, gates=None)
    assert math.isfinite(entry.values["energy_per_token"]) and math.isfinite(entry.spread["energy_per_token"])


# 2 ---------------------------------------------------------------------------------------------


def test_an_index_that_overflows_is_named_never_a_silent_letter():
    chat = PropertySet.from_dict({"task": "chat", "properties": {
        "energy_per_token": {"name": "Energy per token", "unit": "J/token", "higher_is_better": False,
                             "group": "Resources", "weight": 1.0, "boundaries": [2.0, 1.2, 0.8, 0.5]},
        "quality": {"name": "Score", "unit": "", "higher_is_better": True, "group": "Quality", "weight": 1.0,
                    "boundaries": [2.0, 1.2, 0.8, 0.5]}}})
    entries = [ModelResult("chat", "B200 - vLLM", name, [], {"energy_per_token": energy, "quality": 1.0},
                           sources={"reported": "reported"})
               for name, energy in (("ref-model", 1e300), ("tiny", 1e-300))]
    rated, _ = rate_entries(entries, RatingOptions(reference="ref-model", property_sets={"chat": chat}))
    tiny = {r.model: r for r in rated}["tiny"]
    metric = tiny.metrics["energy_per_token"]
    assert metric.rating is None and metric.index is None and "overflows" in metric.not_rated
    assert "overflows" in tiny.to_dict()["metrics"]["energy_per_token"]["not_rated"]


# 3 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["J/token", "kWh", "s", "ms / sample", "W"])
def test_a_negative_energy_time_or_power_is_an_invalid_record(unit):
    with pytest.raises(RecordError) as caught:
        ResultRecord.from_dict(_record("Neg", -1.0, unit))
    assert caught.value.field == "properties.energy_per_token.value" and "≥ 0" in caught.value.reason


def test_a_negative_value_of_a_signed_quantity_stays_valid():
    assert ResultRecord.from_dict(_record("Neg", -1.0, "fraction")).value("energy_per_token") == -1.0


def test_a_negative_record_in_a_directory_is_named_and_not_rated(tmp_path):
    for n, energy in enumerate((4.0, 1.0, 2.0, 3.0, 5.0, 6.0, -5.0)):
        (tmp_path / f"m{n}.json").write_text(json.dumps(_record(f"m{n}", energy, row=n)))
    scan = read_result_records(tmp_path)
    records, problems = scan.records, scan.problems
    assert len(records) == 6 and [(p.file, p.field) for p in problems] == [("m6.json", "properties.energy_per_token.value")]
    out = ratings_cli(tmp_path, "--scale", "best")
    assert out.returncode == 0 and "m6.json" in out.stderr
    assert "m6" not in {e["model"] for e in json.loads(out.stdout)}


# 4 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1_000", "١٢", "inf", "-inf", "nan", "NaN", "1e400", "true", True, False, "0x10", ""])
def test_one_strict_number_parser_refuses(text):
    from mlel.base.values import parse_number
    assert parse_number(text) is None


@pytest.mark.parametrize("text, number", [(" 1e3 ", 1000.0), ("-2.5", -2.5), (".5", 0.5), (3, 3.0)])
def test_one_strict_number_parser_reads(text, number):
    from mlel.base.values import parse_number
    assert parse_number(text) == number


def test_boolean_boundaries_are_refused():
    with pytest.raises(SettingsError, match="four numbers"):
        parse_boundaries({"parameters": [True, True, False, False]})


# 5 ---------------------------------------------------------------------------------------------


def _csv(tmp_path, cells) -> Path:
    path = tmp_path / "results.csv"
    path.write_text("model,hardware,energy\n" + "".join(f"m{n},A100,{cell}\n" for n, cell in enumerate(cells)))
    return path


@pytest.mark.parametrize("bad", ["1e308", "-1e308", "1_000", "١٢", "-3"])
def test_one_bad_csv_cell_skips_its_row_only_and_names_it(tmp_path, bad):
    cells = ["1.5"] * 25
    cells[7] = bad
    mapping = TableMapping(task="generic", model="model", environment=("hardware",),
                           properties=(ColumnMap.parse("energy_per_run=energy:Wh"),))
    report = import_csv(_csv(tmp_path, cells), mapping)
    assert len(report.records) == 24
    (problem,) = report.problems
    assert (problem.file, problem.row, problem.field) == ("results.csv", 7, "energy") and bad in problem.reason


CODECARBON_HEADER = ("timestamp,project_name,run_id,experiment_id,duration,emissions,energy_consumed,cpu_energy,"
                     "gpu_energy,ram_energy,gpu_count,gpu_model,cpu_model")


@pytest.mark.parametrize("column, bad", [("energy_consumed", "1e308"), ("gpu_count", "abc"), ("duration", "-1")])
def test_one_bad_codecarbon_cell_skips_its_row_only_and_names_it(tmp_path, column, bad):
    columns = CODECARBON_HEADER.split(",")
    rows = []
    for n in range(5):
        row = dict(zip(columns, ["2024-01-01", "p", f"run{n}", "e", "10", "0.1", "0.01", "0.004", "0.005",
                                 "0.001", "1", "A100", "EPYC"]))
        if n == 2:
            row[column] = bad
        rows.append(",".join(row[c] for c in columns))
    path = tmp_path / "emissions.csv"
    path.write_text(CODECARBON_HEADER + "\n" + "\n".join(rows) + "\n")
    report = import_codecarbon(path)
    assert len(report.records) == 4
    (problem,) = report.problems
    assert (problem.file, problem.row) == ("emissions.csv", 2) and column in str(problem) and bad in problem.reason


# end to end -----------------------------------------------------------------------------------


def good_and_mixed(root: Path, reference_dir: Path) -> tuple[Path, Path]:
    """Two folders holding the same good files (two 2022 logs, two records): "mixed" gets the bad ones."""
    good, mixed = root / "good", root / "mixed"
    for folder in (good, mixed):
        folder.mkdir()
        for name in (RESNET101, EFFICIENTNET):
            shutil.copy(reference_dir / name, folder / name)
        for n, energy in enumerate((0.5, 0.7)):
            (folder / f"chat{n}.json").write_text(json.dumps(_record(f"chat{n}", energy, row=n)))
    return good, mixed


def test_a_hostile_directory_rates_its_good_files_as_without_the_bad(tmp_path, reference_dir):
    good, mixed = good_and_mixed(tmp_path, reference_dir)
    bad_logs = {"huge.json": 1e308, "minus_huge.json": -1e308, "tiny.json": 1e-308, "zero.json": 0,
                "negative.json": -1.0, "nan_text.json": "NaN"}
    for n, (name, energy) in enumerate(bad_logs.items()):
        (mixed / name).write_text(json.dumps(_log(reference_dir, EFFICIENTNET, f"Hostile{n}", energy)))
    for name, energy in {"rec_neg.json": -2.0, "rec_nan.json": "NaN", "rec_huge.json": 1e308}.items():
        (mixed / name).write_text(json.dumps(_record(name, energy)))
    (mixed / "rec_inf.json").write_text(json.dumps(_record("inf", 1.0)).replace("1.0", "1e999"))
    clean, hostile = ratings_cli(good), ratings_cli(mixed)
    assert clean.returncode == 0 and hostile.returncode == 0, hostile.stderr
    for name in ("minus_huge.json", "negative.json", "nan_text.json", "rec_neg.json", "rec_nan.json", "rec_inf.json"):
        assert name in hostile.stderr
    assert "Traceback" not in hostile.stderr
    keep = {"ResNet101", "EfficientNetB0", "chat0", "chat1"}
    expected = [e for e in json.loads(clean.stdout)]
    got = [e for e in json.loads(hostile.stdout) if e["model"] in keep]
    assert got == expected and {e["model"] for e in expected} == keep
