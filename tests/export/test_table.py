"""`python -m mlel.export table`: the CSV and the Parquet read back through pandas with the values of
`python -m mlel.ratings --json`, entry by entry and metric by metric (value, index, rating, its
probability, the 95% interval, runs with a value); a missing value is NaN/None, never a 0 or a word."""
from __future__ import annotations

import math
import sys

import pandas as pd
import pytest

from mlel.export.cli import main
from mlel.export.table import unit_slug
from mlel.tasks.properties import builtin_tasks
from tests.export.conftest import ratings_json

UNITS = {task: {p.key: p.unit for p in s.properties} for task, s in builtin_tasks().items()}


def _export(path, *directories) -> int:
    argv = ["table", "-o", str(path)]
    for directory in directories:
        argv += ["-d", str(directory)]
    return main(argv)


def _read(path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def _missing(cell) -> bool:
    return cell is None or (isinstance(cell, float) and math.isnan(cell))


def _same(cell, expected) -> bool:
    """A cell read back equals the JSON's value: missing is missing, numbers exactly, text as text
    (a CSV reader may take "32" or a "5" star level for a number)."""
    if expected is None:
        return _missing(cell)
    if _missing(cell):
        return False
    if isinstance(expected, bool) or isinstance(cell, bool):
        return bool(cell) == expected
    if isinstance(expected, (int, float)):
        return float(cell) == float(expected)
    return str(cell) == str(expected) or (_number(cell) is not None and _number(cell) == _number(expected))


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _check_rows(frame: pd.DataFrame, rated: list[dict]) -> int:
    """Every entry of the JSON, every metric: the table's cells equal. Returns the cells compared."""
    assert len(frame) == len(rated)
    compared = 0
    for (_, row), summary in zip(frame.iterrows(), rated):
        for column, expected in (("task", summary["task"]), ("environment", summary["environment"]),
                                 ("model", summary["model"]), ("entry", summary["entry"]),
                                 ("n_runs", summary["n_runs"]), ("compound", summary["compound"]),
                                 ("graded", summary["graded"]),
                                 ("compound_probability", summary["compound_p"] and summary["compound"]
                                  and summary["compound_p"][summary["compound"]]),
                                 ("not_rated", summary.get("not_rated")),
                                 ("energy_total_ws", summary["energy"]["total_ws"])):
            assert _same(row[column], expected), (summary["entry"], column, row[column], expected)
        for key, value in summary["configuration"].items():
            assert _same(row[f"config_{key}"], value)
        for key, metric in summary["metrics"].items():
            unit = unit_slug(UNITS[summary["task"]][key])
            # a key two tasks state in different units: its unitless columns carry the unit too
            name = key if f"{key}_index" in row.index else f"{key}_{unit}"
            ci95 = metric["ci95"] or (None, None)
            odds = metric["rating_p"]
            for column, expected in ((f"{key}_value_{unit}", metric["value"]), (f"{name}_index", metric["index"]),
                                     (f"{name}_rating", metric["rating"]),
                                     (f"{name}_rating_probability", odds and metric["rating"] and odds[metric["rating"]]),
                                     (f"{key}_ci95_low_{unit}", ci95[0]), (f"{key}_ci95_high_{unit}", ci95[1]),
                                     (f"{name}_n", metric["n"]), (f"{name}_not_rated", metric.get("not_rated")),
                                     (f"{name}_invalid", metric.get("invalid"))):
                assert _same(row[column], expected), (summary["entry"], column, row[column], expected)
                compared += 1
    return compared


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("kind", ["2022", "own", "imported"])
def test_the_table_reads_back_with_the_values_of_the_json(kind, suffix, tmp_path, rated_json,
                                                         dirs_2022, own_results, imported):
    directory = {"2022": dirs_2022, "own": own_results, "imported": imported}[kind]
    path = tmp_path / f"rated{suffix}"
    assert _export(path, directory) == 0
    rated = rated_json[kind]
    assert _check_rows(_read(path), rated) >= 6 * len(rated)


def test_scheme_and_reference_are_taken_as_the_ratings_cli_takes_them(tmp_path, dirs_2022):
    options = ("--scheme", "mlee-2022", "--reference", "ResNet50")
    path = tmp_path / "rated.csv"
    argv = ["table", "-d", str(dirs_2022), "-o", str(path), *options]
    assert main(argv) == 0
    rated = ratings_json(dirs_2022, options=options)
    assert {s["reference"] for s in rated} == {"ResNet50"} and {s["scheme"] for s in rated} == {"mlee-2022"}
    _check_rows(_read(path), rated)


def test_the_checks_see_a_changed_cell(tmp_path, rated_json, own_results):
    path = tmp_path / "rated.parquet"
    assert _export(path, own_results) == 0
    frame = _read(path)
    frame.loc[3, "inference_power_draw_ci95_high_ws_per_sample"] = 1.0
    with pytest.raises(AssertionError):
        _check_rows(frame, rated_json["own"])


def test_units_are_in_the_column_names_and_missing_values_stay_missing(tmp_path, own_results, rated_json):
    path = tmp_path / "rated.parquet"
    assert _export(path, own_results) == 0
    frame = _read(path)
    assert {"inference_power_draw_value_ws_per_sample", "inference_time_value_ms_per_sample",
            "train_power_draw_value_kwh", "top1_val_value_fraction"} <= set(frame.columns)
    assert frame["inference_power_draw_value_ws_per_sample"].dtype == "float64"
    assert frame["graded"].dtype == "bool" and frame["n_runs"].dtype == "int64"
    training = frame["task"] == "training"
    assert frame.loc[training, "inference_power_draw_value_ws_per_sample"].isna().all()  # not a metric there
    single = [s for s in rated_json["own"] if s["n_runs"] == 1]
    assert frame["n_runs"].tolist() == [s["n_runs"] for s in rated_json["own"]]
    assert not single or frame.loc[frame["n_runs"] == 1, "top1_val_ci95_low_fraction"].isna().all()


def test_several_directories_make_one_table_of_all_their_entries(tmp_path, dirs_2022, own_results, rated_json):
    # their environments differ, so rating them together rates each as alone
    path = tmp_path / "both.csv"
    assert _export(path, dirs_2022, own_results) == 0
    _check_rows(_read(path), rated_json["2022"] + rated_json["own"])


def test_without_pyarrow_parquet_is_refused_with_the_extra_to_install(tmp_path, own_results, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    path = tmp_path / "rated.parquet"
    assert _export(path, own_results) == 2
    assert "pip install 'mlee[parquet]'" in capsys.readouterr().err
    assert not path.exists()


def test_task_keeps_only_that_tasks_rows(tmp_path, own_results, rated_json):
    path = tmp_path / "training.csv"
    assert main(["table", "-d", str(own_results), "--task", "training", "-o", str(path)]) == 0
    _check_rows(_read(path), [s for s in rated_json["own"] if s["task"] == "training"])
