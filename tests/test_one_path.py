"""Issue 23, "one path per question": the CLI's JSON, ELEx's table, the label and the paper's table
show the same letters for every entry, because each reads them from the ratings pipeline.

Directories are generated (hypothesis): merged logs made from one 2022 log (renamed models, two
backends = two environments, repeated runs, weights untrained / pretrained, a missing accuracy, a
window too short to be graded) beside imported result records (``mlee-result/1``), rated on the
reference scale and on the best scale, under the schemes ``mlee`` (honest: an environment without
the reference, a lone model, a missing value are not rated), ``mlee-2022`` (they are E) and
``strep`` (issue 24): a level that is not rated is None in the CLI's JSON and in ELEx alike.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from mlel.elex import session, state
from mlel.elex import table as elex_table
from mlel.labels.content import label_content
from mlel.paper.outputs import indexing_table, rate_for_paper
from mlel.ratings import RATING_COLORS, RatingOptions
from mlel.ratings.report import rate_directory
from mlel.runlog.metrics import LABEL_METRICS

TEMPLATE = "infer_2022_03_03_17_21_20.json"  # ResNet101, A100 x8 - TensorFlow 2.8.0
REFERENCE = "ResNet101"
MODELS = (REFERENCE, "ModelX", "ModelY")
BACKENDS = ("tensorflow", "pytorch")  # two environments of one machine
ENVIRONMENTS = ("A100 x8 - TensorFlow 2.8.0", "A100 x8 - PyTorch 1.10.2+cu113")
PAPER_METRICS = ("inference_power_draw", "inference_time", "parameters", "top1_val", "top5_val")
LETTER_OF_COLOUR = {colour.lstrip("#"): letter for letter, colour in RATING_COLORS.items()}


@pytest.fixture(scope="module")
def template(reference_dir) -> dict:
    return json.loads((reference_dir / TEMPLATE).read_text())


def _scaled(node, key: str, change) -> None:
    """Every number under ``key`` in a nested log, changed."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, (int, float)):
                node[name] = change(value)
            else:
                _scaled(value, key, change)


def merged_log(template: dict, model: str, backend: str, weights: str | None, power: float, time: float,
               accuracy: float | None, short: bool) -> dict:
    """A merged log of the 2022 schema: the template with another model, backend and values."""
    log = copy.deepcopy(template)
    log["config"].update(model=model, infer_model=model, backend=backend)
    if weights:
        log["config"]["weights"] = weights
    validation = log["validation"]
    _scaled(validation["monitoring_pynvml"], "total_power_draw", lambda v: v * power)
    validation["duration"] *= time
    if accuracy is None:
        del validation["results"]["metrics"]["accuracy"]
    else:
        validation["results"]["metrics"]["accuracy"] = accuracy
    if short:  # a window under a second: shown, never graded (mlel.ratings.gates)
        _scaled(validation, "total_duration", lambda v: 0.5)
        validation["duration"] = 0.5
    return log


def result_record(model: str, environment: int, power: float, accuracy: float) -> dict:
    backend = ENVIRONMENTS[environment].split(" - ")[1].rsplit(" ", 1)
    return {"schema": "mlee-result/1", "task": "inference", "model": model,
            "environment": {"hardware": "A100 x8", "software": backend[0], "name": ENVIRONMENTS[environment]},
            "properties": {"inference_power_draw": {"value": power, "unit": "Ws", "source": "reported"},
                           "top1_val": {"value": accuracy, "unit": "", "source": "reported"}},
            "runs": 1, "provenance": {"tool": "test", "file": "table.csv", "row": 0}}


def write_directory(folder: Path, template: dict, logs: list, records: list) -> Path:
    for i, spec in enumerate(logs):
        log = merged_log(template, *spec)
        name = f"infer_2022_01_01_00_00_{i:02d}_{spec[0]}_{spec[1]}"
        log["directory_name"] = name
        (folder / f"{name}.json").write_text(json.dumps(log))
    for i, spec in enumerate(records):
        (folder / f"record_{i:02d}.json").write_text(json.dumps(result_record(*spec)))
    return folder


# ---------------------------------------------------------------------------------------------
# the letters each view shows, per entry: (environment, entry name, logs) -> letters


def _key(task: str, environment: str, name: str, logs) -> tuple:
    return task, environment, name, tuple(logs)


def _options(scale: str | None, scheme: str | None) -> RatingOptions:
    return RatingOptions(reference=REFERENCE, scale=scale, scheme=scheme)


def cli_letters(directory: Path, scale: str | None, scheme: str | None = None) -> dict[tuple, tuple]:
    """What ``python -m mlel.ratings --json [--scale best] [--scheme NAME]`` prints (its serialisation)."""
    report = rate_directory(directory, _options(scale, scheme))
    rated = json.loads(json.dumps(report.rated))
    return {_key(s["task"], s["environment"], s["entry"], s["logs"]):
            (s["compound"], {k: m["rating"] for k, m in s["metrics"].items()}) for s in rated}


def elex_settings(data: state.ElexData, scale: str | None, scheme: str | None = None) -> dict:
    """The settings of a session that chose the scheme (the chooser), the reference and the scale."""
    settings = session.set_scheme(session.default_settings(data), scheme)
    return session.set_scale(session.set_reference(settings, REFERENCE), data, scale)


def _shown(cell: str) -> str | None:
    """A table cell "B", "B (87%)" or "–" (not graded, not rated) -> its letter or None."""
    return None if cell == "–" else cell.split(" ")[0]


def elex_letters(directory: Path, scale: str | None, scheme: str | None = None
                 ) -> tuple[dict[tuple, tuple], list[dict]]:
    """What ELEx's table shows per row, and the summaries its label is drawn from."""
    data = state.ElexData.load(directory)
    settings = elex_settings(data, scale, scheme)
    shown, summaries = {}, []
    for task in data.tasks:
        rating = state.rate(data, task, settings)
        for row in elex_table.table_rows(rating):
            entry = rating.table.results[row["id"]]
            shown[_key(task, entry.environment, entry.name, entry.logs)] = (
                _shown(row["compound"]), {k: _shown(row[f"{k}__rating"]) for k in rating.table.metrics})
            summaries.append(state.summary(rating, row["id"]))
    return shown, summaries


def label_letters(summary: dict) -> tuple:
    """The compound letter and the four tiles' letters the label would draw ("" = none)."""
    content = label_content(summary)
    power, runtime, accuracy, size = LABEL_METRICS[summary["task"]]
    keys = {"power": power, "runtime": runtime, "accuracy": accuracy, "size": size}
    return content.compound, {keys[cell.kind]: cell.rating for cell in content.cells}


def paper_letters(rated: list[dict]) -> list[tuple]:
    """Each row of the paper's indexing table: environment, entry and the letter of each index cell."""
    table = indexing_table(rated, None, PAPER_METRICS)
    rows = []
    for line in table.splitlines():
        if not line.endswith(r"\\") or "&" not in line or "Environment" in line or "Value & Index" in line:
            continue
        cells = [c.strip() for c in line[:-2].split("&")]
        colours = [re.match(r"\\cellcolor\[HTML\]\{(\w+)\}", c) for c in cells[3::2]]
        rows.append((cells[0], cells[1], tuple(LETTER_OF_COLOUR[m.group(1)] if m else None for m in colours)))
    return rows


def expected_paper(rated: list[dict]) -> list[tuple]:
    chosen = sorted(rated, key=lambda s: (s["environment"], s.get("entry") or s["model"]))
    tex = lambda text: text.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")  # noqa: E731
    return [(tex(s["environment"]), tex(s["entry"]), tuple(s["metrics"][k]["rating"] for k in PAPER_METRICS))
            for s in chosen if s["task"] == "inference"]


def assert_one_path(directory: Path, scale: str | None, scheme: str | None = None) -> dict[tuple, tuple]:
    """Every view's letters are the CLI's; returns the CLI's letters."""
    cli = cli_letters(directory, scale, scheme)
    elex, summaries = elex_letters(directory, scale, scheme)
    assert elex == cli
    for summary in summaries:  # ELEx's label and the label tool's draw what the CLI says
        compound, metrics = cli[_key(summary["task"], summary["environment"], summary["entry"], summary["logs"])]
        letter, tiles = label_letters(summary)
        assert letter == (compound or "")
        assert tiles == {k: metrics[k] or "" for k in tiles}
    report = rate_directory(directory, _options(scale, scheme))
    for record in report.records:
        compound, _ = cli[_key(record.task, record.environment, record.name, record.logs)]
        assert label_letters(record.to_dict())[0] == (compound or "")
    rated = rate_for_paper(directory, REFERENCE, scheme)[0] if scale in (None, "reference") and scheme != "strep" \
        else [r.to_dict(settings=True) for r in report.records]
    assert paper_letters(rated) == expected_paper([r.to_dict() for r in report.records])
    return cli


# ---------------------------------------------------------------------------------------------
# generated directories

LOGS = st.lists(st.tuples(
    st.sampled_from(MODELS), st.sampled_from(BACKENDS), st.sampled_from((None, "untrained", "pretrained")),
    st.sampled_from((0.25, 0.5, 0.9, 1.0, 1.3, 3.0)), st.sampled_from((0.4, 0.8, 1.0, 1.1, 2.5)),
    st.one_of(st.none(), st.sampled_from((0.55, 0.7, 0.72, 0.8))), st.booleans()), min_size=1, max_size=6)
RECORDS = st.lists(st.tuples(st.sampled_from(MODELS + ("ModelZ",)), st.sampled_from((0, 1)),
                             st.sampled_from((0.05, 0.2, 0.6)), st.sampled_from((0.5, 0.75))), max_size=2)
EXAMPLES = 110  # per scheme and scale: 550 generated directories
SCHEMES = [("mlee", "reference"), ("mlee", "best"), ("mlee-2022", "reference"), ("mlee-2022", "best"),
           ("strep", None)]


@pytest.mark.parametrize("scheme, scale", SCHEMES)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(logs=LOGS, records=RECORDS)
def test_every_view_shows_the_pipelines_letters(template, scheme, scale, logs, records):
    folder = Path(tempfile.mkdtemp(prefix="one-path-"))
    try:
        assert_one_path(write_directory(folder, template, logs, records), scale, scheme)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# an environment without the reference (PyTorch), a lone model there, a missing accuracy: the
# honest schemes rate none of these, the 2022 one rates them E — in every view alike
UNRATED_LOGS = [(REFERENCE, "tensorflow", None, 1.0, 1.0, 0.7, False),
                ("ModelX", "tensorflow", None, 0.5, 1.0, None, False),
                ("ModelY", "pytorch", None, 0.8, 1.0, 0.72, False)]


@pytest.mark.parametrize("scheme, scale", SCHEMES)
def test_not_rated_levels_are_none_in_the_cli_and_in_elex(template, tmp_path, scheme, scale):
    cli = assert_one_path(write_directory(tmp_path, template, UNRATED_LOGS, [("ModelZ", 1, 0.2, 0.5)]), scale, scheme)
    by_name = {key[2]: letters for key, letters in cli.items()}
    if scheme == "mlee-2022":
        assert None not in [c for c, _ in cli.values()]
        assert by_name["ModelX"][1]["top1_val"] == "E"
        return
    assert by_name["ModelX"][1]["top1_val"] is None  # no value: no level
    if scale == "reference":  # PyTorch has no ResNet101: nothing to index its two models against
        assert by_name["ModelY"][0] is None and by_name["ModelZ"][0] is None


# ---------------------------------------------------------------------------------------------
# the two cases of the issue, as they were found


def _elex_row(directory: Path, name: str, environment: str) -> tuple:
    letters, _ = elex_letters(directory, "reference")
    return next(v for k, v in letters.items() if k[2] == name and k[1] == environment)


@pytest.mark.parametrize("scheme, letter", [("mlee", None), ("mlee-2022", "E")])
def test_a_reference_that_is_not_graded_indexes_nothing_in_elex_either(template, tmp_path, scheme, letter):
    """The reference measured too briefly: no index — not rated (E under the 2022 scheme) — in the
    CLI and in ELEx (ELEx said C, 2.0)."""
    directory = write_directory(tmp_path, template, [
        (REFERENCE, "tensorflow", None, 1.0, 1.0, 0.7, True),
        ("ModelX", "tensorflow", None, 0.5, 1.0, 0.7, False)], [])
    cli = cli_letters(directory, "reference", scheme)
    compound, metrics = next(v for k, v in cli.items() if k[2] == "ModelX")
    assert compound == letter and metrics["inference_power_draw"] == letter
    letters, _ = elex_letters(directory, "reference", scheme)
    assert next(v for k, v in letters.items() if k[2] == "ModelX") == (compound, metrics)
    data = state.ElexData.load(directory)
    rating = state.rate(data, "inference", elex_settings(data, "reference", scheme))
    row = next(r for r, e in enumerate(rating.table.results) if e.model == "ModelX")
    assert state.summary(rating, row)["metrics"]["inference_power_draw"]["index"] is None
    assert_one_path(directory, "reference", scheme)


def test_a_reference_in_two_configurations_is_found_by_its_model(template, tmp_path):
    """The reference untrained and pretrained: ELEx finds the model, as the CLI (ELEx said E, E, E)."""
    directory = write_directory(tmp_path, template, [
        (REFERENCE, "pytorch", "untrained", 1.0, 1.0, 0.001, False),
        (REFERENCE, "pytorch", "pretrained", 1.0, 1.0, 0.7, False),
        ("ModelY", "pytorch", "pretrained", 0.8, 1.0, 0.7, False)], [])
    cli = cli_letters(directory, "reference")
    assert sorted(c for c, _ in cli.values()) == ["C", "C", "C"]
    for (_, environment, name, _), letters in cli.items():
        assert _elex_row(directory, name, environment) == letters
    data = state.ElexData.load(directory)
    assert data.table("inference").reference_models == ["ModelY", REFERENCE]  # models, not entries
    assert_one_path(directory, "reference")


def test_repeated_runs_give_elex_the_clis_probabilities(template, tmp_path):
    """Resampled rows (several runs of model and reference): the same seeded draws, the same odds."""
    logs = [(REFERENCE, "tensorflow", None, 1.0, time, 0.7, False) for time in (0.9, 1.0, 1.1)]
    logs += [("ModelX", "tensorflow", None, power, 1.0, 0.7, False) for power in (0.85, 0.9, 1.0)]
    # imported after the merged logs, first in ELEx's sorted rows: the draws must follow the pipeline's order
    records = [("AModel", 0, power, 0.5) for power in (0.004, 0.005)]
    directory = write_directory(tmp_path, template, logs, records)
    report = rate_directory(directory, RatingOptions(reference=REFERENCE))
    data = state.ElexData.load(directory)
    rating = state.rate(data, "inference", elex_settings(data, "reference"))
    by_name = {record.name: record.to_dict() for record in report.records}
    for row, entry in enumerate(rating.table.results):
        shown = state.summary(rating, row)
        assert shown["compound_p"] == by_name[entry.name]["compound_p"]
        assert shown["metrics"] == by_name[entry.name]["metrics"]
    assert_one_path(directory, "reference")
