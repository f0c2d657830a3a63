"""The readable table of python -m mlel.ratings (issue 24): names never cut into ambiguity, headers
wrapped at words, "–" for what is not rated with the reason under the row."""
from __future__ import annotations

import pytest

from mlel.ratings import RatingOptions, rate_entries
from mlel.ratings.rated import ModelResult
from mlel.ratings.table import NAME_WIDTH, NO_LEVEL, format_table, header, wrap_name
from mlel.tasks.properties import load_property_set

ENV = "1 x H100 - vLLM"
VALUES = {"energy_per_token": 0.2, "energy_per_response": 100.0, "median_itl": 30.0, "total_params": 14.0}
LONG = "Qwen/Qwen3-30B-A3B-Thinking-2507-FP8 (max_num_seqs 1024, EP 4)"
LONE_ENV = "2 x H100 - vLLM"


def _entries() -> list[ModelResult]:
    entries = [ModelResult("lm-arena-chat", ENV, f"Qwen/Qwen3-14B (max_num_seqs {n})", [f"q{n}.json"],
                           {**VALUES, "energy_per_token": 0.1 * n}) for n in (8, 16, 32, 64, 128, 1024)]
    entries.append(ModelResult("lm-arena-chat", ENV, LONG, ["long.json"], {**VALUES, "median_itl": None}))
    entries.append(ModelResult("lm-arena-chat", LONE_ENV, "lonely/model", ["lone.json"], VALUES))
    return entries


@pytest.fixture(scope="module")
def rated():
    records, _ = rate_entries(_entries(), RatingOptions())
    return records


@pytest.mark.parametrize("wide", [False, True])
def test_names_are_wrapped_never_cut(rated, wide):
    out = format_table(rated, wide=wide)
    lines = out.splitlines()
    assert "\u2026" not in out
    width = 60 if wide else NAME_WIDTH
    for record in rated:
        pieces = wrap_name(record.name, width)
        assert "".join(pieces).replace(" ", "") == record.name.replace(" ", "")  # nothing lost
        starts = [i for i, line in enumerate(lines) if line.startswith("    " + pieces[0])
                  and lines[i + 1:i + len(pieces)] == ["    " + p for p in pieces[1:]]]
        assert starts, record.name
    # configurations stay apart: "(max_num_seqs 1024)" and "(max_num_seqs 128)" are not one name
    assert any("1024)" in line for line in lines) and any("128)" in line for line in lines)


def test_headers_wrap_at_words(rated):
    out = format_table(rated, wide=True)
    assert "respo" not in out.replace("response", "") and "nse/response" not in out
    prop_set = load_property_set("lm-arena-chat")
    words = {word for key in prop_set.keys for word in header(prop_set[key]).split()} | {"model", "runs", "rating"}
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if line.lstrip().startswith("model"))
    block = lines[first:first + 4]
    block = block[:next(i for i, line in enumerate(block) if line.startswith("    Qwen"))]
    assert len(block) >= 2  # long headers wrapped
    for line in block:
        assert set(line.split()) <= words, line  # whole words only


@pytest.mark.parametrize("task, key, said", [
    ("inference", "inference_power_draw", "Energy per sample"),  # Ws/sample: the name says it
    ("lm-arena-chat", "energy_per_token", "Energy per token"),  # J/token: the name says it already
    ("lm-arena-chat", "output_throughput", "Output throughput per second"),
    ("lm-arena-chat", "avg_output_len", "Average response length"),
    ("inference", "top1_val", "Top-1 accuracy")])
def test_header_says_what_a_value_is_per_once(task, key, said):
    assert header(load_property_set(task)[key]) == said


def test_not_rated_shows_a_dash_and_the_reason_goes_under_the_row(rated):
    out = format_table(rated)
    lines = out.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("    " + wrap_name(LONG, NAME_WIDTH)[0]))
    assert f"n.a. {NO_LEVEL}" in lines[row]
    notes = "\n".join(lines[row + 1:row + 6])
    assert "not rated, no value: Median inter-token latency" in notes
    assert "compound rests on 3 of 4 weighted metrics" in notes
    lone = next(r for r in rated if r.model == "lonely/model")
    assert lone.compound is None and lone.not_rated
    row = next(i for i, line in enumerate(lines) if line.startswith("    lonely/model"))
    assert lines[row].split()[2] == NO_LEVEL and "E" not in lines[row].split()
    said = " ".join(" ".join(lines[row + 1:row + 4]).split())
    assert f"not rated: {lone.not_rated}" in said  # wrapped, whole
    assert "1 not rated" in lines[0] and "\u2026" not in out


def test_text_is_left_aligned_numbers_as_they_are(rated):
    lines = format_table(rated).splitlines()
    head = next(line for line in lines if line.lstrip().startswith("model"))
    column = head.index("rating")
    rows = [line for line in lines if line.startswith("    Qwen/Qwen3-14B (max_num_seqs")]
    assert rows and all(line[column] != " " for line in rows)  # the level starts where its header does
    runs_end = head.index("runs") + len("runs")
    assert all(line[runs_end - 1] == "1" for line in rows)  # the count, right-aligned as before


def test_a_scheme_of_stars_shows_its_labels():
    records, _ = rate_entries(_entries(), RatingOptions(scheme="ai-energy-score"))
    out = format_table(records)
    row = next(line for line in out.splitlines() if line.startswith("    Qwen/Qwen3-14B (max_num_seqs"))
    cells = row.split()  # name, name, runs, compound, value, unit, level, ...
    assert cells[3] in ("5", "4", "3", "2", "1") and cells[6] in ("5", "4", "3", "2", "1")
    assert " E " not in row and " A " not in row
