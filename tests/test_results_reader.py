"""The directory reader's fast path for result records (msgspec, straight into the final objects):
it must read exactly what the validating slow path reads, and leave everything else to it."""
from __future__ import annotations

import json
import math
from pathlib import Path

import orjson
import pytest

from mlel.importers import mlenergy
from mlel.importers.common import write_records
from mlel.base.io import write_json
from mlel.results import (Environment, PropertyValue, Provenance, RecordError, ResultRecord,
                          read_result_records)
from mlel.results.decode import fast_record as _fast_record

LEADERBOARD = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "ml-energy-leaderboard"


def _record(**changes) -> dict:
    record = ResultRecord(task="lm-arena-chat", model="m", environment=Environment("1 x B200", "vLLM"),
                          properties={"energy_per_token": PropertyValue(0.5, "J/token", "reported"),
                                      "median_itl": PropertyValue(None, "ms", "reported")},
                          provenance=Provenance("ML.ENERGY leaderboard", "tasks/x.json", 3),
                          configuration={"max_num_seqs": 8})
    return record.to_dict() | changes


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mlenergy")
    write_records(mlenergy.import_mlenergy(LEADERBOARD).records, out)
    return out


def test_fast_path_reads_every_imported_record_as_the_slow_path_does(imported):
    files = sorted(imported.glob("*.json"))
    assert len(files) > 1000
    for path in files:
        data = path.read_bytes()
        fast = _fast_record(data)
        assert fast is not None, path.name
        assert fast == ResultRecord.from_dict(orjson.loads(data)), path.name
        assert ResultRecord.from_dict(orjson.loads(data)) == fast
        assert fast.to_dict() == json.loads(data)


def test_defaults_are_filled_as_the_slow_path_fills_them():
    data = _record()
    del data["name"], data["dataset"], data["configuration"], data["runs"]
    data["environment"] = {"hardware": "1 x H100", "software": None}
    data["provenance"] = {"tool": "T", "file": "f"}
    fast = _fast_record(orjson.dumps(data))
    assert fast == ResultRecord.from_dict(data)
    assert (fast.name, fast.environment.name, fast.runs, fast.provenance.row) == ("m", "1 x H100", 1, None)


@pytest.mark.parametrize("change, field", [
    ({"task": "   "}, "task"),                               # blank: refused by both, named
    ({"runs": 1.0}, "runs"),
    ({"incomplete": True, "incomplete_reason": "SIGINT"}, "incomplete"),
    ({"properties": {"e": {"value": True, "unit": "J", "source": "reported"}}}, "properties.e.value"),
    ({"properties": {"e": {"value": 1, "unit": None, "source": "reported"}}}, "properties.e.unit"),
    ({"environment": {"hardware": " "}}, "environment.hardware"),
])
def test_what_the_fast_path_refuses_the_slow_path_names(tmp_path, change, field):
    data = _record(**change)
    assert _fast_record(orjson.dumps(data)) is None
    write_json(tmp_path / "r.json", data)
    [problem] = read_result_records(tmp_path).problems
    assert problem.field == field


@pytest.mark.parametrize("change", [{"configuration": []}, {"provenance": {"tool": "T", "file": None}},
                                    {"environment": {"hardware": "H", "software": "S", "name": None}}])
def test_what_only_the_slow_path_accepts_is_still_read(tmp_path, change):
    data = _record(**change)
    write_json(tmp_path / "r.json", data)
    scan = read_result_records(tmp_path)
    assert [r for _, r in scan.records] == [ResultRecord.from_dict(data)] and not scan.problems


def test_a_record_larger_than_one_read_is_read_whole(tmp_path):
    data = _record(notes="x" * 200_000)
    write_json(tmp_path / "big.json", data)
    [(_, record)] = read_result_records(tmp_path).records
    assert record.notes == data["notes"]


def test_a_record_built_directly_checks_its_property_values():
    with pytest.raises(RecordError) as caught:
        ResultRecord("t", "m", Environment("H"), {"e": PropertyValue(1.0, "J", "guessed")}, Provenance("T", ""))
    assert caught.value.field == "properties.e.source"
    with pytest.raises(RecordError) as caught:
        ResultRecord("t", "m", Environment("H"), {"e": PropertyValue(math.inf, "J", "measured")},
                     Provenance("T", ""))
    assert caught.value.field == "properties.e.value"


def test_from_dict_takes_the_typed_path_and_keeps_nothing_of_the_callers_dict():
    data = _record()
    data["properties"]["energy_per_token"]["value"] = 2  # an int in JSON: a float in the record
    record = ResultRecord.from_dict(data)
    assert record == ResultRecord.from_dict(data)
    assert type(record.value("energy_per_token")) is float
    data["configuration"]["max_num_seqs"] = 99
    assert record.configuration["max_num_seqs"] == 8


def test_a_scan_holds_plain_name_record_pairs(tmp_path):
    from pathlib import Path

    for name in ("b.json", "a.json"):
        (tmp_path / name).write_bytes(orjson.dumps({**_record(), "model": name[0]}))
    (tmp_path / "log.json").write_text('{"not": "a record"}')
    scan = read_result_records(tmp_path)
    assert type(scan.records) is tuple and [(name, r.model) for name, r in scan.records] == [("a.json", "a"),
                                                                                          ("b.json", "b")]
    assert all(type(name) is str and type(r) is ResultRecord for name, r in scan.records)
    assert [p.name for p in scan.foreign] == ["log.json"] and isinstance(scan.foreign[0], Path)


def test_a_rating_report_keeps_the_records_it_read_with_their_names(tmp_path, reference_dir):
    import shutil

    from mlel.ratings.report import rate_directory

    for name in ("b.json", "a.json"):
        (tmp_path / name).write_bytes(orjson.dumps({**_record(), "model": name[0], "name": name[0]}))
    shutil.copy(reference_dir / "infer_2022_03_03_17_21_20.json", tmp_path / "log.json")
    report = rate_directory(tmp_path)
    assert [(name, record.model) for name, record in report.results] == [("a.json", "a"), ("b.json", "b")]
    assert [run.model for run in report.runs] == ["ResNet101"]  # the merged log, beside them
    assert sorted(r.model for r in report.records) == ["ResNet101", "a", "b"]
