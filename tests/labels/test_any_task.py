"""Labels beyond ImageNet (issue 12) and labels that say how sure they are (issue 13)."""
from __future__ import annotations

import json
import shutil

import pytest

from mlel.labels import cli
from mlel.base.formatting import format_quantity
from mlel.importers.common import write_records
from mlel.importers.mlenergy import import_mlenergy
from mlel.labels import EnergyLabel, label_content
from mlel.labels import layout as L
from mlel.labels import tiles
from mlel.tasks.properties import load_property_set
from mlel.results import Environment, PropertyValue, Provenance, ResultRecord
from tests.labels.conftest import pdf_text, png_image

LEADERBOARD = "ml-energy-leaderboard"
RECORD_PART = "Qwen-Qwen3-14B-max_num_seqs-1024__1-x-B200"
A100_TF = "A100 x8 - TensorFlow 2.8.0"


@pytest.fixture(scope="module")
def imported(reference_dir, tmp_path_factory):
    """The leaderboard's LLM chat task imported as the importer does it (index.json + one task file)."""
    source = tmp_path_factory.mktemp("leaderboard")
    (source / "tasks").mkdir()
    origin = reference_dir.parent.parent / LEADERBOARD  # ../shared/reference/<...>
    shutil.copy(origin / "index.json", source / "index.json")
    shutil.copy(origin / "tasks" / "lm-arena-chat.json", source / "tasks" / "lm-arena-chat.json")
    out = tmp_path_factory.mktemp("records")
    write_records(import_mlenergy(source).records, out)
    return out


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_label_of_an_imported_llm_configuration(imported, tmp_path, capsys):
    record_file = next(p for p in imported.iterdir() if RECORD_PART in p.name)
    record = json.loads(record_file.read_text())
    pdf = tmp_path / "llm.pdf"
    code, _, err = _run(capsys, "-f", record_file, "-d", imported, "-o", pdf)
    assert code == cli.EXIT_OK, err
    text = pdf_text(pdf.read_bytes())
    for tile in ("energy_per_token", "energy_per_response", "median_itl", "total_params"):
        prop = load_property_set("lm-arena-chat")[tile]
        assert prop.name in text, tile
        assert format_quantity(record["properties"][tile]["value"], prop.unit) in text, tile
    assert "1 x B200 - vLLM" in text and "reported by ML.ENERGY leaderboard" in text
    assert "window not checked" in text  # the leaderboard states no measurement window to gate
    assert text.count("reported") >= 5  # the provenance line and each tile's source
    assert "Qwen/Qwen3-14B (max_num_seqs 1024)" in text
    assert "best model per environment" in err  # no ResNet101 among LLMs: the best one is the scale


def test_an_imported_label_with_a_chosen_reference_indexes_against_it(imported, tmp_path, capsys):
    record_file = next(p for p in imported.iterdir() if RECORD_PART in p.name)
    pdf = tmp_path / "llm.pdf"
    reference = "Qwen/Qwen3-14B"  # a model: its entry of the same configuration is the reference
    code, _, err = _run(capsys, "-f", record_file, "-d", imported, "-o", pdf, "-r", reference)
    assert code == cli.EXIT_OK, err
    assert f"Reference model: {reference}" in pdf_text(pdf.read_bytes())
    code, _, err = _run(capsys, "-f", record_file, "-d", imported, "-o", pdf, "-r", "NoSuchModel")
    assert code == cli.EXIT_NOT_FOUND and "NoSuchModel" in err


def _codecarbon_record(cpu_source: str) -> ResultRecord:
    return ResultRecord(
        task="generic", model="my-model", dataset="own", configuration={},
        environment=Environment("AMD EPYC 7742", "", "AMD EPYC 7742"),
        properties={"energy_per_run": PropertyValue(5400.0, "J", cpu_source),
                    "runtime": PropertyValue(60.0, "s", "measured")},
        runs=1, provenance=Provenance("CodeCarbon", "emissions.csv", 0))


@pytest.mark.parametrize("source", ["estimated", "measured"])
def test_a_codecarbon_label_says_whether_energy_was_measured(tmp_path, capsys, source):
    directory = tmp_path / "cc"
    write_records([_codecarbon_record(source)], directory)
    record_file = next(directory.iterdir())
    pdf = tmp_path / "cc.pdf"
    code, _, err = _run(capsys, "-f", record_file, "-o", pdf)
    assert code == cli.EXIT_OK, err
    text = pdf_text(pdf.read_bytes())
    assert f"energy {source} by CodeCarbon" in text and "Energy per run" in text and "5.4 kJ" in text
    other = "measured" if source == "estimated" else "estimated"
    assert f"energy {other} by" not in text


def test_tiles_follow_the_property_set():
    chat = load_property_set("lm-arena-chat")
    assert tiles.tile_keys(chat) == list(chat.label_tiles)
    kinds = [tiles.tile_kind(chat[k], i) for i, k in enumerate(chat.label_tiles)]
    assert kinds == ["power", "runtime", "power", "size"]
    assert len(tiles.tile_keys(load_property_set("generic"))) == 4
    image = load_property_set("text-to-image")
    assert [tiles.tile_kind(image[k], i) for i, k in enumerate(image.label_tiles)] == \
        ["power", "runtime", "runtime", "size"]  # throughput: the stopwatch, not the target


# --- issue 13: intervals, probabilities, runs, not graded -------------------------------------------

def test_interval_under_the_value_where_runs_allow(find_summary):
    summary = find_summary("inference", "EfficientNetB0", A100_TF)
    summary["metrics"]["inference_power_draw"]["ci95"] = [0.61, 0.66]
    summary["metrics"]["inference_time"]["ci95"] = None
    summary["n_runs"], summary["logs"] = 3, ["a.json", "b.json", "c.json"]
    content = label_content(summary)
    power, runtime = content.cells[:2]
    assert power.interval == "95 % CI 610 mJ \u2013 660 mJ" and runtime.interval == ""
    assert content.footer_right == "mean of 3 runs"
    assert "95 % CI 610 mJ \u2013 660 mJ" in pdf_text(EnergyLabel(summary).to_pdf())


def test_one_run_says_no_interval(find_summary):
    summary = find_summary("inference", "EfficientNetB0", A100_TF)
    summary["compound_p"] = {r: float(r == summary["compound"]) for r in "ABCDE"}
    content = label_content(summary)
    assert tiles.ONE_RUN in content.footer_right and content.compound_p == ""
    assert all(cell.interval == "" for cell in content.cells)
    assert tiles.ONE_RUN in pdf_text(EnergyLabel(summary).to_pdf())


def test_compound_probability_on_the_black_arrow(find_summary):
    summary = find_summary("inference", "EfficientNetB0", A100_TF)
    summary["n_runs"] = 3
    summary["compound_p"] = {"A": 0.05, "B": 0.87, "C": 0.08, "D": 0.0, "E": 0.0}
    summary["compound"] = "B"
    content = label_content(summary)
    assert content.compound_p == "87 %"
    text = pdf_text(EnergyLabel(summary).to_pdf())
    assert "B 87 %" in text or "B87 %" in text


def test_not_graded_label_has_no_letter_and_says_why(find_summary):
    summary = find_summary("inference", "EfficientNetB0", A100_TF)
    reason = "measured window 0.4 s is shorter than the 5 s minimum"
    summary.update(graded=False, not_graded=reason, compound=None, compound_p=None)
    for metric in summary["metrics"].values():
        metric["rating"] = None
    content = label_content(summary)
    assert content.not_graded == reason and content.compound == ""
    assert {cell.rating for cell in content.cells} == {""}
    label = EnergyLabel(summary)
    text = pdf_text(label.to_pdf())
    assert "NOT GRADED" in text and "0.4 s is shorter" in text
    image = png_image(label.to_png(dpi=144))
    pointer_x = L.POINTER_LEFT + L.POINTER_TIP + 4
    for rating in "ABCDE":
        middle = L.arrow_row_top(rating) + L.ARROW_HEIGHT / 2
        pixel = image.getpixel((round(pointer_x * 2), round(middle * 2)))
        assert max(pixel) > 60, rating  # no black arrow at any row


def test_not_graded_reason_shapes():
    assert tiles.not_graded_reason({"graded": True}) is None
    assert tiles.not_graded_reason({"graded": False}) == "failed a validity check"
    assert tiles.not_graded_reason({"graded": False, "not_graded": "too few samples"}) == "too few samples"
    assert tiles.not_graded_reason({"invalid": ["b", "a"]}) == "a; b"


def test_choose_an_imported_entry_by_task_name_and_environment(imported, tmp_path, capsys):
    pdf = tmp_path / "chosen.pdf"
    code, _, err = _run(capsys, "-d", imported, "-t", "lm-arena-chat", "-m", "Qwen/Qwen3-14B (max_num_seqs 1024)",
                        "-e", "1 x B200", "-o", pdf)
    assert code == cli.EXIT_OK, err
    text = pdf_text(pdf.read_bytes())
    assert "Qwen/Qwen3-14B (max_num_seqs 1024)" in text and "1 x B200 - vLLM" in text


def test_another_tools_estimate_is_not_scored_with_our_error(tmp_path, capsys):
    summary = {"task": "generic", "model": "m", "environment": "AMD EPYC 7742", "compound": "C",
               "metrics": {"energy_per_run": {"value": 5400.0, "index": 1.0, "rating": "C"}},
               "energy": {"sources": {"energy_per_run": "estimated"}},
               "provenance": {"tool": "CodeCarbon"}}
    power = label_content(summary).cells[3]  # energy_per_run is the generic set's fourth tile
    assert power.caption == "Energy per run" and power.estimated and power.detail == "estimated"
    summary["energy"]["error_pct"] = 12
    assert label_content(summary).cells[3].detail == "estimated \u00b1 12 %"


def test_interval_lines_overlap_no_other_text_of_their_cell(find_summary):
    """Every tile with an interval, the energy estimated: no two glyphs of the label overlap."""
    from tests.labels.conftest import char_boxes

    summary = find_summary("inference", "EfficientNetB0", A100_TF)
    for metric in summary["metrics"].values():
        if metric.get("value"):
            metric["ci95"] = [metric["value"] * 0.9, metric["value"] * 1.1]
    summary["energy"] = {**summary["energy"], "estimated": True, "error_pct": 25,
                         "sources": {"pynvml": "measured", "estimate": "estimated"}}
    summary.update(n_runs=3, logs=["a.json", "b.json", "c.json"], compound_p={"B": 0.87}, compound="B")
    (width, height), boxes = char_boxes(EnergyLabel(summary).to_pdf())
    glyphs = [box for ch, box in boxes if ch.strip() and box[2] > box[0]]
    inside = glyphs
    assert all(L.BORDER_INSET <= l and r <= width - L.BORDER_INSET and L.BORDER_INSET <= b
               and t <= height - L.BORDER_INSET for l, b, r, t in inside)
    shrunk = [(l + 0.3, b + 0.3, r - 0.3, t - 0.3) for l, b, r, t in inside]  # touching is not overlapping
    overlaps = sum(a[0] < c[2] and c[0] < a[2] and a[1] < c[3] and c[1] < a[3]
                   for i, a in enumerate(shrunk) for c in shrunk[i + 1:])
    assert overlaps == 0
