"""The rated summaries' JSON writer (mlel.rated_json): the bytes of dumps([r.to_dict() ...]) exactly,
for every kind of entry, with certain rows written from templates."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mlel import rated_json
from mlel.importers import import_mlenergy
from mlel.io import dumps
from mlel.rated import CertainMetrics, ModelResult, RatedResult, entries_from_records
from mlel.ratings import RatingOptions, rate_entries
from mlel.report import rate_directory

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "reference"


def _reference_bytes(records) -> bytes:
    return dumps([record.to_dict() for record in records], indent=False)


def _certain(records) -> int:
    return sum(type(record.metrics) is CertainMetrics for record in records)


@pytest.mark.parametrize("directory, single_run", [(SHARED / "mlee-2022" / "results", True),
                                                   (REPO / "results", False)], ids=["2022 study", "our own results"])
def test_merged_logs_are_written_as_their_dicts_are(directory, single_run):
    records = rate_directory(directory).records
    assert bool(_certain(records)) is single_run  # our own: 3 runs each, every metric with its interval
    assert rated_json.summaries_json(records) == _reference_bytes(records)


@pytest.mark.parametrize("scale", ["reference", "best"])
def test_imported_llm_and_diffusion_records_are_written_as_their_dicts_are(scale):
    report = import_mlenergy(SHARED / "ml-energy-leaderboard")
    records, _ = rate_entries(entries_from_records([(f"r{i}.json", r) for i, r in enumerate(report.records)]),
                              RatingOptions(scale=scale))
    assert _certain(records) > 1000  # the template path is the one taken
    assert rated_json.summaries_json(records) == _reference_bytes(records)


def _entry(values: dict, **extra) -> ModelResult:
    return ModelResult("t", "1 x GPU - x", "m", ["m.json"], values, sources={k: "reported" for k in values},
                       **extra)


def _rated(entry: ModelResult, indices, levels) -> RatedResult:
    return RatedResult.build(entry, list(entry.values), indices, levels, 2, "ref")


@pytest.mark.parametrize("values, indices, levels", [
    ({"a": 1.5, "b": None}, [2.0, math.nan], [0, 4]),  # a missing value: null, n 0, its index null
    ({"a": math.nan, "b": math.inf}, [math.nan, 1.0], [4, 3]),  # non-finite values: null, n 1
    ({"a": np.float64(0.1), "b": np.float32(3.0)}, [1 / 3, 1e300], [1, 2]),  # numpy values, long floats
    ({"a": 7, "b": -0.0}, [0.5, 2.0], [3, 0]),  # an int stays an int
    ({"tricky \"key\", with \\ and é": 1.0}, [1.0], [2]),  # keys are escaped as the serialiser does
    ({}, [], []),  # no properties
])
def test_each_kind_of_value_is_written_as_its_dict_is(values, indices, levels):
    record = _rated(_entry(values), indices, levels)
    assert type(record.metrics) is CertainMetrics
    assert rated_json.summaries_json([record]) == _reference_bytes([record])


def test_a_value_that_is_not_a_number_falls_back_to_the_dict():
    record = _rated(_entry({"a": "1,5", "b": 2.0}), [1.0, 1.0], [2, 2])  # a comma in a value's JSON
    assert rated_json._metrics_fragment(record.metrics) is None
    assert rated_json.summaries_json([record]) == _reference_bytes([record])


def test_entries_that_are_not_certain_rows_are_written_from_their_dicts():
    ungraded = _rated(_entry({"a": 1.0}, not_graded="window < 1 s"), [1.0], [2])
    invalid = _rated(_entry({"a": None}, invalid={"a": "x.json: negative"}, problems=("x.json: negative",)),
                     [math.nan], [4])
    assert all(rated_json._metrics_fragment(r.metrics) is None for r in (ungraded, invalid))
    assert rated_json.summaries_json([ungraded, invalid]) == _reference_bytes([ungraded, invalid])
