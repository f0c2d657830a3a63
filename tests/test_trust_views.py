"""Issue 28: the trust properties (ece, nll, corruption_top1, robustness) in every view — the ratings
JSON and table (intervals across repeated runs from the pipeline), the paper's table (a column group
only where a value exists) and the label's trust strip ("not measured" where a run has none)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlel.labels import EnergyLabel
from mlel.labels.svg import render_svg
from mlel.paper.outputs import indexing_table, rate_for_paper
from mlel.ratings import RatingOptions
from mlel.ratings.cli import ratings_main
from mlel.ratings.report import rate_directory
from mlel.tasks.properties import NOT_MEASURED, TRUST_GROUP, load_property_set
from tests.labels.conftest import pdf_text

REPO = Path(__file__).resolve().parents[1]
TRUST = load_property_set("inference").group_keys(TRUST_GROUP)
# per model, per seed: what infer.py --trust writes (validation.trust.results.metrics)
MEASURED = {"ResNet101": [(0.030, 1.10, 0.52, 0.70), (0.034, 1.14, 0.50, 0.68), (0.032, 1.12, 0.51, 0.69)],
            "MobileNetV2": [(0.064, 1.50, 0.40, 0.60), (0.060, 1.46, 0.42, 0.62), (0.062, 1.48, 0.41, 0.61)]}


def _logs(directory: Path, with_trust: bool) -> Path:
    """Our own PyTorch inference logs of two models (three seeds), as merge writes them; with
    ``with_trust`` each also holds its trust window as trustrun's merge puts it."""
    directory.mkdir()
    for model, seeds in MEASURED.items():
        files = sorted((REPO / "results").glob(f"infer_*_{model}_pytorch_seed*.json"))
        assert len(files) == len(seeds)
        for file, values in zip(files, seeds):
            log = json.loads(file.read_text())
            if with_trust:
                log["validation"]["trust"] = {"results": {"metrics": dict(zip(TRUST, values))}, "duration": 3.5}
            (directory / file.name).write_text(json.dumps(log))
    return directory


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> Path:
    return _logs(tmp_path_factory.mktemp("trust") / "logs", True)


@pytest.fixture(scope="module")
def rated(measured) -> dict[str, dict]:
    return {r.model: r.to_dict(settings=True) for r in rate_directory(measured, RatingOptions()).records}


def test_runs_with_trust_values_are_pooled_with_an_interval_and_rated_against_the_reference(rated):
    mobile = rated["MobileNetV2"]["metrics"]
    ece = mobile["ece"]
    assert ece["n"] == 3 and ece["value"] == pytest.approx(0.062)
    low, high = ece["ci95"]
    assert low < 0.062 < high and 0 < low and high < 1  # a fraction's interval stays in [0, 1]
    assert ece["index"] == pytest.approx(0.032 / 0.062)  # lower is better: reference / value
    assert rated["ResNet101"]["metrics"]["robustness"]["index"] == pytest.approx(1.0)
    assert mobile["corruption_top1"]["rating"] in "ABCDE" and mobile["robustness"]["ci95"] is not None
    assert all(rated[m]["weights"][k] == 0 for m in rated for k in TRUST)


def test_weight_0_leaves_the_compound_as_without_trust_values_until_a_user_weights_them(measured, rated, tmp_path):
    plain = {r.model: r.compound for r in rate_directory(_logs(tmp_path / "plain", False), RatingOptions()).records}
    assert {m: s["compound"] for m, s in rated.items()} == plain
    weights = {"inference_power_draw": 0, "inference_time": 0, "parameters": 0, "top1_val": 0, "ece": 1.0}
    by_ece = {r.model: r.to_dict() for r in rate_directory(measured, RatingOptions(weights=weights)).records}
    assert by_ece["MobileNetV2"]["compound"] == by_ece["MobileNetV2"]["metrics"]["ece"]["rating"]


def test_the_cli_shows_them_in_the_wide_table_and_in_json(measured, capsys):
    assert ratings_main(["-d", str(measured), "--wide"]) == 0
    table = capsys.readouterr().out
    assert "calibration" in table and "robustness" in table  # headers wrap at their words
    mobile = next(line for line in table.splitlines() if line.strip().startswith("MobileNetV2"))
    assert "6.2 % " in mobile and "1.48 nats " in mobile and "41.0 % " in mobile
    assert ratings_main(["-d", str(measured), "--json"]) == 0
    summaries = json.loads(capsys.readouterr().out)
    assert {k for s in summaries for k in s["metrics"]} >= set(TRUST)


def test_the_2022_logs_have_no_trust_values_and_their_labels_say_not_measured(reference_dir, capsys):
    summaries, _, _ = rate_for_paper(reference_dir, scheme="mlee-2022")
    inference = [s for s in summaries if s["task"] == "inference"]
    assert all(s["metrics"][k]["value"] is None for s in inference for k in TRUST)
    label = EnergyLabel(next(s for s in inference if s["model"] == "ResNet101"))
    assert [c.value for c in label.content.trust] == [NOT_MEASURED] * 4
    assert [c.rating for c in label.content.trust] == [""] * 4  # no E for what was not measured
    assert pdf_text(label.to_pdf()).count(NOT_MEASURED) == 4
    assert "weight 0: not in the compound rating" in label.content.trust_note
    # the CLI's wide table says so in each trust cell; the note under it keeps the pipeline's reason
    assert ratings_main(["-d", str(reference_dir), "--wide", "--scheme", "mlee-2022"]) == 0
    resnet = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("ResNet101 "))
    assert resnet.count(f"{NOT_MEASURED} E") == 4  # the 2022 rule: a missing value is an E, weight 0
    # the paper's table of the 2022 logs has no trust columns (its bytes: tests/test_schemes.py)
    assert TRUST_GROUP not in indexing_table(summaries)


def test_the_label_strip_shows_value_and_letter_in_the_pdf_and_the_svg(rated):
    label = EnergyLabel(rated["MobileNetV2"])
    cells = {c.caption: c for c in label.content.trust}
    assert cells["Expected calibration error"].value == "6.2 %"
    assert cells["Negative log-likelihood"].value == "1.48 nats"
    assert cells["Top-1 under corruptions"].rating == rated["MobileNetV2"]["metrics"]["corruption_top1"]["rating"]
    text, svg = pdf_text(label.to_pdf()), render_svg(label.content)
    for cell in cells.values():
        assert cell.value in text and f">{cell.value}<" in svg
    assert NOT_MEASURED not in text


def test_an_invalid_trust_value_is_said_so_not_not_measured(rated):
    summary = json.loads(json.dumps(rated["ResNet101"]))
    summary["metrics"]["nll"].update(value=None, rating=None, invalid="validation.trust.results.metrics.nll: -1")
    cells = {c.caption: c for c in EnergyLabel(summary).content.trust}
    assert cells["Negative log-likelihood"].value == "invalid value" and cells["Negative log-likelihood"].rating == ""
    assert "invalid value" in pdf_text(EnergyLabel(summary).to_pdf())


def test_a_summary_from_before_the_trust_properties_draws_no_strip(rated):
    old = json.loads(json.dumps(rated["ResNet101"]))
    for key in TRUST:
        del old["metrics"][key]
    assert EnergyLabel(old).content.trust == ()


def test_the_papers_table_gets_a_trust_column_group_where_values_exist(rated):
    table = indexing_table(list(rated.values()), ("ResNet101", "MobileNetV2"))
    header = table.splitlines()[2]
    assert header == "& & \\multicolumn{8}{c}{} & \\multicolumn{8}{c}{Trust} \\\\"
    assert "\\cmidrule(lr){11-18}" in table and "Expected calibration error [fraction]" in table
    row = next(line for line in table.splitlines() if "MobileNetV2" in line)
    assert "0.062 & " in row and row.count("&") == 2 + 2 * 8 - 1


def test_trust_values_reach_the_paper_results_labels(measured, tmp_path):
    from mlel.paper.outputs import create_paper_results

    shutil.copytree(measured, tmp_path / "logs")
    written, _ = create_paper_results(tmp_path / "logs", tmp_path / "out", models=("MobileNetV2",))
    assert "Trust" in (tmp_path / "out" / "indexing-results.tex").read_text()
    label = next(p for p in written if Path(p).name.startswith("label_MobileNetV2") and str(p).endswith(".pdf"))
    assert "6.2 %" in pdf_text(Path(label).read_bytes())
