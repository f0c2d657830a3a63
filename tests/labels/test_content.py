"""What the label says: formatting, sources, links and the cells of a 2022 summary (no drawing)."""
from __future__ import annotations

import sys

import pytest
import qrcode

from mlel.labels import content as C
from mlel.labels.qr import PROJECT_URL, label_link, paper_link, qr_runs

A100_PT = "A100 x8 - PyTorch 1.10.2+cu113"


@pytest.mark.parametrize("sources, estimated, text", [
    ({"pynvml": "measured"}, False, "Sources: GPU"),
    ({"pyrapl": "measured", "pynvml": "measured"}, False, "Sources: GPU, CPU"),
    ({"estimate": "estimated"}, True, "Sources: CPU (estimated)"),
    ({"pynvml": "measured", "estimate": "estimated"}, True, "Sources: GPU, CPU (estimated)"),
    ({"my_meter": "measured"}, False, "Sources: my_meter"),
    ({}, False, "Sources: n.a."),
    (None, False, "Sources: n.a."),
])
def test_format_sources(sources, estimated, text):
    assert C.format_sources(sources) == (text, estimated)


def test_summary_flag_estimated_shows_even_without_an_estimated_source():
    assert C.format_sources({"pyrapl": "measured"}, estimated=True) == ("Sources: CPU (estimated)", True)


@pytest.mark.parametrize("model, fragment", [
    ("ResNet50", "1512.03385"), ("ResNext101", "1611.05431"), ("VGG19", "1409.1556"),
    ("DenseNet201", "1608.06993"), ("EfficientNetB7", "1905.11946"), ("MobileNetV2", "1801.04381"),
    ("MobileNetV3Small", "1905.02244"), ("RegNetX400MF", "2003.13678"), ("InceptionV3", "1512.00567"),
    ("InceptionResNetV2", "1602.07261"), ("Xception", "1610.02357"), ("NASNetMobile", "1707.07012"),
    ("QuickNetLarge", "2011.09398"), ("resnet-152", "1512.03385")])
def test_known_models_link_their_paper(model, fragment):
    assert fragment in paper_link(model)
    assert label_link(model) == paper_link(model)


def test_other_models_link_the_project_page():
    assert paper_link("MyNet") is None
    assert label_link("MyNet") == PROJECT_URL


def test_qr_runs_cover_exactly_the_dark_modules():
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(PROJECT_URL)
    code.make(fit=True)
    expected = code.get_matrix()
    size, runs = qr_runs(PROJECT_URL)
    rebuilt = [[False] * size for _ in range(size)]
    for row, column, length in runs:
        for c in range(column, column + length):
            rebuilt[row][c] = True
    assert size == len(expected) and rebuilt == expected


def test_inference_content_of_a_2022_log(find_summary):
    summary = find_summary("inference", "EfficientNetB0", A100_PT)
    content = C.label_content(summary)
    assert (content.model, content.task, content.dataset, content.environment, content.compound) == (
        "EfficientNetB0", "Inference", "ImageNet", A100_PT, "B")
    power, runtime, accuracy, size = content.cells
    assert [c.kind for c in content.cells] == ["power", "runtime", "accuracy", "size"]
    # each pictogram takes its own metric's rating (SPEC §6)
    assert [c.rating for c in content.cells] == [summary["metrics"][k]["rating"] for k in (
        "inference_power_draw", "inference_time", "top1_val", "parameters")]
    assert (power.value, power.note, power.detail, power.estimated) == ("877 mJ", "per sample", "Sources: GPU", False)
    assert power.second == f"Whole run: {summary['energy']['total_ws'] / 3600:.3g} Wh" == "Whole run: 12.2 Wh"
    assert (runtime.value, runtime.second) == ("1.87 ms", "Throughput: 535 samples/s")
    assert (accuracy.value, accuracy.second) == ("77.7 %", "Top-5: 93.5 %")
    assert (size.value, size.note, size.second) == ("5.29 M", "parameters", "Operations: 402 MFLOPs")
    assert content.footer_left == "Reference model: ResNet101"
    assert content.footer_right == "1 run: no interval  \u00b7  infer_2022_04_01_15_15_17.json"
    assert "1905.11946" in content.link and content.link_caption == "Model paper"


def test_training_content_of_a_2022_log(find_summary):
    content = C.label_content(find_summary("training", "ResNet50", A100_PT))
    power, runtime, accuracy, size = content.cells
    assert content.task == "Training"
    assert (power.value, power.note, power.second) == ("22.2 kWh", "full training", "Per epoch: 247 Wh")
    assert (runtime.value, runtime.note, runtime.second) == ("22.2 h", "full training", "Per epoch: 14.8 min")
    assert (accuracy.value, size.value, size.second) == ("75.8 %", "25.6 M", "Operations: n.a.")


def test_missing_values_read_na_and_are_not_rated(find_summary):
    # EfficientNet has no reference training recipe (SPEC §4): no totals, only per-epoch figures
    power, runtime, _, size = C.label_content(find_summary("training", "EfficientNetB0", A100_PT)).cells
    assert (power.value, power.rating, runtime.value, runtime.rating) == ("n.a.", "", "n.a.", "")  # never E
    assert power.not_rated == runtime.not_rated == "no value"  # the default scheme says why (SPEC §10)
    assert power.second.startswith("Per epoch: ") and power.second.endswith(" Wh")
    assert size.second == "Operations: n.a."


def test_missing_values_rate_e_under_the_2022_scheme(reference_dir):
    from mlel.ratings import RatingOptions
    from mlel.ratings.report import rate_directory

    rated = rate_directory(reference_dir, RatingOptions(scheme="mlee-2022")).rated
    summary = next(s for s in rated if (s["task"], s["model"], s["environment"]) == (
        "training", "EfficientNetB0", A100_PT))
    power, runtime, _, _ = C.label_content(summary).cells
    assert (power.rating, runtime.rating, power.not_rated) == ("E", "E", "")


def test_metric_absent_from_the_summary_is_na(find_summary):
    summary = find_summary("inference", "EfficientNetB0", A100_PT)
    del summary["metrics"]["top5_val"]
    summary["metrics"]["inference_time"] = {"value": None, "index": None, "rating": "E"}
    _, runtime, accuracy, _ = C.label_content(summary).cells
    assert (runtime.value, runtime.second, accuracy.second) == ("n.a.", "Throughput: n.a.", "Top-5: n.a.")


def test_mode_and_best_scale_in_the_footer(find_summary):
    summary = find_summary("inference", "VGG16", A100_PT)
    assert C.label_content({**summary, "mode": "pessimistic mean"}).footer_left == (
        "Reference model: ResNet101  \u00b7  pessimistic mean")
    assert C.label_content({**summary, "reference": "best"}).footer_left.startswith("Index scale: best")
    assert C.label_content({**summary, "logs": ["a.json", "b.json"]}).footer_right == "mean of 2 runs"


@pytest.mark.parametrize("change, message", [
    ({"task": None}, "unknown task"), ({"task": ["inference"]}, "unknown task"),
    ({"compound": "F"}, "compound rating"), ({"compound": ["A"]}, "compound rating"),
    ({"model": ...}, "missing field 'model'"), ({"metrics": ...}, "missing field 'metrics'")])
def test_bad_summaries_are_named(find_summary, change, message):
    summary = find_summary("inference", "VGG16", A100_PT)
    for key, value in change.items():
        if value is ...:
            del summary[key]
        else:
            summary[key] = value
    with pytest.raises(ValueError, match=message):
        C.label_content(summary)
    with pytest.raises(ValueError, match="rated summary"):
        C.label_content(["not", "a", "dict"])


@pytest.fixture
def no_estimator_error(monkeypatch):
    monkeypatch.setattr(C, "_estimator_error_pct", lambda hardware: None)


XEON_PT = "Xeon(R) W-2155 - PyTorch 1.10.2+cu113"


def _estimated(find_summary, **energy) -> dict:
    summary = find_summary("inference", "ResNet50", XEON_PT)
    summary["energy"].update(sources={"estimate": "estimated"}, estimated=True, **energy)
    return summary


@pytest.mark.parametrize("energy, text", [({"error_pct": 12.5}, "estimated \u00b1 12.5 %"),
                                          ({"expected_error": 0.16}, "estimated \u00b1 16 %")])
def test_estimated_energy_carries_the_records_error(find_summary, energy, text):
    power = C.label_content(_estimated(find_summary, **energy)).cells[0]
    assert (power.detail, power.estimated) == (f"Sources: CPU ({text})", True)


def test_estimated_energy_without_an_error_figure(find_summary, no_estimator_error):
    power = C.label_content(_estimated(find_summary)).cells[0]
    assert power.detail == "Sources: CPU (estimated)"
    # a figure that is no number is not shown
    assert C.label_content(_estimated(find_summary, error_pct="10")).cells[0].detail == "Sources: CPU (estimated)"


def test_the_estimators_figure_for_the_hardware_is_used(find_summary):
    """Without a figure in the record: mlel.monitoring.estimate.expected_error(hardware)."""
    from mlel.monitoring import estimate

    expected = 100 * estimate.expected_error("Xeon(R) W-2155")
    assert C.label_content(_estimated(find_summary)).cells[0].detail == \
        f"Sources: CPU (estimated \u00b1 {expected:.3g} %)"
    measured = find_summary("inference", "ResNet50", A100_PT)  # measured energy: no error shown
    power = C.label_content(measured).cells[0]
    assert (power.detail, power.estimated) == ("Sources: GPU", False)


def test_an_estimator_with_one_constant_is_used_too(find_summary, monkeypatch):
    module = type(sys)("fake_estimate")
    module.ESTIMATE_ERROR_PCT = 25
    monkeypatch.setitem(sys.modules, "fake_estimate", module)
    monkeypatch.setattr(C, "_ESTIMATE_MODULE", "fake_estimate")
    C._estimator.cache_clear()
    try:
        assert C.label_content(_estimated(find_summary)).cells[0].detail == "Sources: CPU (estimated \u00b1 25 %)"
    finally:
        C._estimator.cache_clear()


@pytest.mark.parametrize("metrics", [[1, 2], {"inference_power_draw": "x"}, {"inference_power_draw": {
    "value": 10 ** 400, "rating": "A"}}, {"inference_power_draw": {"value": True, "rating": 3}}])
def test_malformed_metric_entries_read_na(find_summary, metrics):
    summary = find_summary("inference", "ResNet50", A100_PT)
    summary["metrics"], summary["energy"] = metrics, "not a dict"
    power = C.label_content(summary).cells[0]
    assert power.value == "n.a." and power.second == "Whole run: n.a."
    assert power.detail == "Sources: n.a."


def test_odd_footer_fields_still_draw(find_summary):
    summary = find_summary("inference", "VGG16", A100_PT)
    assert C.label_content({**summary, "logs": [42]}).footer_right.endswith("42")
    assert C.label_content({**summary, "logs": "a.json"}).footer_right == ""
