"""The generic result record mlee-result/1: round trip, validation naming the field, the directory
reader, and stable file names."""
from __future__ import annotations

import json

import pytest

from mlel.base.io import write_json
from mlel.results import (SCHEMA, Environment, Problem, PropertyValue, Provenance, RecordError,
                          ResultRecord, read_result_records, record_file_name)


def _record(**changes) -> ResultRecord:
    values = dict(task="lm-arena-chat", model="Qwen/Qwen3-14B",
                  environment=Environment("1 x B200", "vLLM"),
                  properties={"energy_per_token": PropertyValue(0.699, "J/token", "reported")},
                  provenance=Provenance("ML.ENERGY leaderboard", "tasks/lm-arena-chat.json", 0),
                  configuration={"max_num_seqs": 8})
    values.update(changes)
    return ResultRecord(**values)


def test_round_trip_keeps_every_field_and_defaults_name_and_environment():
    record = _record(dataset="LM Arena", runs=3, notes="n")
    data = json.loads(json.dumps(record.to_dict()))
    assert data["schema"] == SCHEMA
    assert data["environment"]["name"] == "1 x B200 - vLLM"
    assert data["name"] == "Qwen/Qwen3-14B"
    again = ResultRecord.from_dict(data)
    assert again == record
    assert again.value("energy_per_token") == 0.699 and again.value("absent") is None


def test_records_are_frozen_and_own_their_dicts():
    # properties and configuration are plain dicts since issue 23 (read-only proxies made the collector
    # walk 200,000 more objects): the record is frozen, and holds copies of what it was built from
    properties = {"energy_per_token": PropertyValue(0.699, "J/token", "reported")}
    configuration = {"max_num_seqs": 8}
    record = _record(properties=properties, configuration=configuration)
    with pytest.raises(AttributeError):
        record.properties = {}
    with pytest.raises(AttributeError):
        record.task = "other"
    properties["x"] = PropertyValue(1.0, "J", "reported")
    configuration["max_num_seqs"] = 9
    assert set(record.properties) == {"energy_per_token"} and record.configuration == {"max_num_seqs": 8}
    assert type(record.properties) is dict and type(record.configuration) is dict


@pytest.mark.parametrize("path, bad, field", [
    (("schema",), "mlee-result/2", "schema"),
    (("task",), "", "task"),
    (("model",), None, "model"),
    (("environment",), "B200", "environment"),
    (("environment", "hardware"), 3, "environment.hardware"),
    (("properties",), [], "properties"),
    (("properties", "energy_per_token", "source"), "guessed", "properties.energy_per_token.source"),
    (("properties", "energy_per_token", "value"), "0.7", "properties.energy_per_token.value"),
    (("properties", "energy_per_token", "value"), float("inf"), "properties.energy_per_token.value"),
    (("properties", "energy_per_token", "unit"), 1, "properties.energy_per_token.unit"),
    (("runs",), 0, "runs"),
    (("provenance", "row"), -1, "provenance.row"),
    (("provenance", "tool"), "", "provenance.tool"),
    (("configuration",), [1], "configuration"),
])
def test_validation_names_the_field(path, bad, field):
    data = _record().to_dict()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    with pytest.raises(RecordError) as caught:
        ResultRecord.from_dict(data)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_null_value_is_a_missing_property_not_an_error():
    data = _record().to_dict()
    data["properties"]["energy_per_token"]["value"] = None
    assert ResultRecord.from_dict(data).value("energy_per_token") is None


def test_reader_finds_records_names_problems_and_leaves_foreign_files(tmp_path):
    good = _record()
    write_json(tmp_path / "a.json", good.to_dict())
    bad = good.to_dict()
    bad["properties"]["energy_per_token"]["source"] = "guessed"
    write_json(tmp_path / "b.json", bad)
    future = dict(good.to_dict(), schema="mlee-result/9")
    write_json(tmp_path / "c.json", future)
    write_json(tmp_path / "merged_log.json", {"directory_name": "infer_x", "config": {}})
    (tmp_path / "broken.json").write_text('{"schema": "mlee-result/1", ')
    (tmp_path / "notes.txt").write_text("not json")
    scan = read_result_records(tmp_path)
    assert scan.records == (("a.json", good),)
    problems = {p.file: p for p in scan.problems}
    assert set(problems) == {"b.json", "c.json", "broken.json"}
    assert problems["b.json"].field == "properties.energy_per_token.source"
    assert problems["c.json"].field == "schema" and "mlee-result/9" in problems["c.json"].reason
    assert "not valid JSON" in problems["broken.json"].reason
    assert [p.name for p in scan.foreign] == ["merged_log.json"]


def test_problem_text_names_file_row_and_field():
    assert str(Problem("x.csv", "not a number", "metrics.e", 4)) == "x.csv, row 4: metrics.e: not a number"
    assert str(Problem("x.csv", "unreadable")) == "x.csv: unreadable"


def test_file_names_are_safe_stable_and_distinct():
    record = _record()
    name = record_file_name(record)
    assert name == record_file_name(_record())  # same entry, same name
    assert name.endswith(".json") and "/" not in name and " " not in name
    others = {record_file_name(_record(configuration={"max_num_seqs": 16})),
              record_file_name(_record(environment=Environment("1 x H100", "vLLM"))),
              record_file_name(_record(model="Qwen/Qwen3 14B")),  # slugs like the first
              record_file_name(record, occurrence=1)}
    assert name not in others and len(others) == 4


def test_flat_row_has_identity_values_and_sources():
    row = _record().to_row()
    assert row["environment"] == "1 x B200 - vLLM" and row["tool"] == "ML.ENERGY leaderboard"
    assert row["energy_per_token"] == 0.699 and row["energy_per_token.source"] == "reported"


def test_optional_fields_take_their_defaults_when_read():
    data = _record().to_dict()
    del data["name"], data["dataset"], data["configuration"], data["runs"]
    data["environment"] = {"hardware": "1 x B200", "software": "vLLM"}
    record = ResultRecord.from_dict(data)
    assert record.name == record.model == "Qwen/Qwen3-14B"
    assert record.environment.name == "1 x B200 - vLLM"
    assert record.runs == 1 and dict(record.configuration) == {} and record.dataset == ""
    with pytest.raises(AttributeError):
        record.configuration = {"x": 1}  # read records are as frozen as built ones
