"""Speed without side effects (issue 23): every rated summary owns its data. Changing one summary
through the Python API — a metric's ``rating_p``, a metric entry, ``compound_p`` — changes no other."""
from __future__ import annotations

import copy

import pytest

import mlel
from hostile_logs import REFERENCE_RESULTS
from mlel.ratings import RatingOptions

pytestmark = pytest.mark.skipif(not REFERENCE_RESULTS.is_dir(), reason="../shared reference logs missing")


def _mutate(summary: dict) -> None:
    metric = next(iter(summary["metrics"].values()))
    for letter in metric["rating_p"]:
        metric["rating_p"][letter] = -1.0
    metric["value"] = "changed"
    summary["compound_p"]["A"] = -1.0
    summary["energy"]["sources"]["changed"] = "yes"
    summary["logs"].append("changed.json")


@pytest.mark.parametrize("scale", ["reference", "best"])
def test_changing_one_summary_changes_no_other(scale):
    report = mlel.rate_directory(REFERENCE_RESULTS, RatingOptions(scale=scale))
    summaries = report.rated
    certain = [s for s in summaries if s["compound_p"] and max(s["compound_p"].values()) == 1.0]
    assert len(certain) > 100  # the common case: certain letters, written from the shared rows
    before = copy.deepcopy(summaries)
    _mutate(summaries[0])
    assert summaries[1:] == before[1:]
    assert [r.to_dict() for r in report.records[1:]] == before[1:]  # nor the records they came from
    assert report.records[0].to_dict() == before[0]


def test_one_records_summaries_are_new_each_time():
    report = mlel.rate_directory(REFERENCE_RESULTS)
    record = report.records[0]
    first = record.to_dict()
    _mutate(first)
    assert record.to_dict() != first and record.to_dict() == record.to_dict()
