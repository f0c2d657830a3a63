"""Issue 23: the record path leaves few objects for the cyclic garbage collector to walk (the library
may not pause it). Records are untracked whichever way they are made; an entry and its rated result
add a handful of tracked objects each, not a dozen."""
from __future__ import annotations

import gc

import orjson

from mlel.ratings import RatingOptions, rate_entries
from mlel.ratings.rated import entries_from_records
from mlel.results import Environment, PropertyValue, Provenance, ResultRecord, read_result_records

N = 300


def _data(i: int) -> dict:
    return {"schema": "mlee-result/1", "task": "lm-arena-chat", "model": f"m{i}",
            "environment": {"hardware": "1 x B200", "software": "vLLM"},
            "configuration": {"max_num_seqs": 8, "label": f"c{i}"},
            "properties": {"energy_per_token": {"value": 0.5 + i, "unit": "J/token", "source": "reported"},
                           "median_itl": {"value": None, "unit": "ms", "source": "reported"}},
            "provenance": {"tool": "ML.ENERGY leaderboard", "file": "x.json", "row": i}}


def _untracked(record: ResultRecord) -> bool:
    parts = (record, record.properties, record.configuration, record.provenance, record.environment)
    return not any(gc.is_tracked(part) for part in parts)


def test_records_and_their_parts_are_untracked_however_made():
    built = ResultRecord("t", "m", Environment("H", "S"), {"e": PropertyValue(1.0, "J", "measured")},
                         Provenance("T", "f", 0), configuration={"a": 1})
    assert _untracked(built) and _untracked(ResultRecord.from_dict(_data(0)))


def _tracked() -> int:
    gc.collect()  # the test's own collection: what stays tracked once the collector has seen it
    return len(gc.get_objects())


def test_reading_entries_and_rating_leave_few_tracked_objects(tmp_path):
    for i in range(N):
        (tmp_path / f"r{i:04d}.json").write_bytes(orjson.dumps(_data(i), option=orjson.OPT_INDENT_2))
    options = RatingOptions(scale="best")
    rate_entries(entries_from_records(read_result_records(tmp_path).records), options)  # lazy imports, caches
    start = _tracked()
    scan = read_result_records(tmp_path)
    assert len(scan.records) == N and all(_untracked(record) for _, record in scan.records)
    read = _tracked()
    entries = entries_from_records(scan.records)
    made = _tracked()
    rated, _ = rate_entries(entries, options)
    rated_at = _tracked()
    assert len(rated) == N
    assert read - start < 20  # the scan's few containers; no record
    assert made - read <= 2 * N + 40  # each entry and its list of files (was 3 with its __dict__)
    assert rated_at - made <= 2 * N + 40  # each rated result and its metrics (was 5: __dict__, row lists)
