"""What the label says under a scheme (issue 24): no level without evidence, drawn grey with the
reason; stars where the scheme's levels are stars; which scheme rated it; and the wording."""
from __future__ import annotations

import pytest

from mlel.labels import EnergyLabel, label_content
from mlel.labels import drawing, layout as L, levels as V
from mlel.labels import render
from mlel.labels.content import repeats
from mlel.labels.scale import star_left
from mlel.labels.tiles import interval_text, tile_keys
from mlel.ratings import RATING_COLORS
from mlel.runlog.metrics import LABEL_METRICS
from mlel.tasks.properties import builtin_tasks, load_property_set
from tests.labels.conftest import char_boxes, pdf_text, png_image

A100_PT = "A100 x8 - PyTorch 1.10.2+cu113"
DPI = 144
STARS = ["5", "4", "3", "2", "1"]
LONE = ("lone model: nothing to compare with in 'A100 x8 - PyTorch 1.10.2+cu113'; to get a grade, "
        "measure the reference: python infer.py --model resnet101 --backend torch")


def _px(x: float, top: float) -> tuple[int, int]:
    return round(x * DPI / 72), round(top * DPI / 72)


def _close(pixel, hex_colour: str, tolerance: int = 8) -> bool:
    target = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, target))


def _disc(image, position: int):
    """The pictogram's rim, left of its centre: the tile's tint."""
    left, top = L.cell_origin(position)
    return image.getpixel(_px(left + L.CELL_PAD + L.ICON_SIZE * 0.08, top + L.CELL_PAD + L.ICON_SIZE / 2))


def _badge(image, position: int, width: float = L.BADGE_SIZE):
    """A corner of the level badge, clear of its label."""
    left, top = L.cell_origin(position)
    return image.getpixel(_px(left + L.CELL_WIDTH - L.CELL_PAD - width + 2.5, top + L.CELL_PAD + 2.5))


def _no_overlaps(pdf: bytes) -> None:
    (width, height), boxes = char_boxes(pdf)
    glyphs = [box for ch, box in boxes if ch.strip() and box[2] > box[0]]
    assert all(L.BORDER_INSET <= l and r <= width - L.BORDER_INSET and L.BORDER_INSET <= b
               and t <= height - L.BORDER_INSET for l, b, r, t in glyphs)
    shrunk = [(l + 0.3, b + 0.3, r - 0.3, t - 0.3) for l, b, r, t in glyphs]
    assert not [(a, c) for i, a in enumerate(shrunk) for c in shrunk[i + 1:]
                if a[0] < c[2] and c[0] < a[2] and a[1] < c[3] and c[1] < a[3]]


# --- a metric that is not rated ---------------------------------------------------------------------

def test_a_metric_not_rated_is_a_grey_dash_never_a_red_e(find_summary):
    summary = find_summary("inference", "EfficientNetB0", A100_PT)
    summary["metrics"]["top1_val"].update(rating=None, rating_p=None, not_rated="no value for the reference")
    accuracy = label_content(summary).cells[2]
    assert (accuracy.rating, accuracy.not_rated) == ("", "no value for the reference")
    label = EnergyLabel(summary)
    text = pdf_text(label.to_pdf())
    assert "Not rated: no value for the reference" in text and "\u2013" in text
    image = png_image(label.to_png(dpi=DPI))
    assert _close(_disc(image, 2), L.UNGRADED) and _close(_badge(image, 2), L.UNGRADED)
    assert not _close(_badge(image, 2), RATING_COLORS["E"], 40)
    assert _close(_disc(image, 0), RATING_COLORS[summary["metrics"]["inference_power_draw"]["rating"]])
    _no_overlaps(label.to_pdf())


def test_the_pipelines_unrated_metrics_reach_the_tiles(find_summary):
    """A real summary of the default scheme: EfficientNet has no full-training figures."""
    summary = find_summary("training", "EfficientNetB0", A100_PT)
    assert summary["metrics"]["train_power_draw"]["rating"] is None
    power, runtime, _, _ = label_content(summary).cells
    assert (power.rating, runtime.rating) == ("", "") and power.not_rated == "no value"
    assert "Compound rests on 2 of 4 weighted metrics" in pdf_text(EnergyLabel(summary).to_pdf())


# --- an entry that is not rated ---------------------------------------------------------------------

def _not_rated(summary: dict, reason: str = LONE) -> dict:
    summary.update(compound=None, compound_p=None, not_rated=reason)
    for metric in summary["metrics"].values():
        metric.update(rating=None, rating_p=None, not_rated="entry not rated")
    return summary


def test_an_entry_not_rated_has_a_grey_scale_no_letter_and_the_whole_reason(find_summary):
    summary = _not_rated(find_summary("inference", "VGG16", A100_PT))
    content = label_content(summary)
    assert (content.compound, content.not_rated, content.not_graded) == ("", LONE, "")
    assert all(cell.not_rated == "" for cell in content.cells)  # said once, in the box
    label = EnergyLabel(summary)
    text = pdf_text(label.to_pdf())
    assert "NOT RATED" in text and LONE in text and "NOT GRADED" not in text  # wrapped, never cut
    image = png_image(label.to_png(dpi=DPI))
    arrow_x = L.ARROW_LEFT + L.ARROW_MIN_LENGTH - L.ARROW_TIP - 8
    pointer_x = L.POINTER_LEFT + L.POINTER_TIP + 4
    for row in "ABCDE":
        middle = L.arrow_row_top(row) + L.ARROW_HEIGHT / 2
        assert _close(image.getpixel(_px(arrow_x, middle)), L.UNRATED_SCALE), row  # grey, no level stands out
        assert max(image.getpixel(_px(pointer_x, middle))) > 60, row  # no black arrow
    assert all(_close(_disc(image, position), L.UNGRADED) for position in range(4))
    _no_overlaps(label.to_pdf())


def test_a_compound_of_null_without_a_reason_still_draws(find_summary):
    summary = find_summary("inference", "VGG16", A100_PT)
    summary["compound"] = None
    content = label_content(summary)
    assert content.compound == "" and content.not_rated == "no reason given"


def test_the_command_line_says_not_rated(find_summary, tmp_path, capsys, monkeypatch):
    from mlel.labels import cli

    summary = _not_rated(find_summary("inference", "VGG16", A100_PT), "no ResNet101 in environment 'X'")
    monkeypatch.setattr(cli, "select_summary", lambda args: cli.Selection(summary, [], [], None))
    assert cli.main(["-m", "VGG16", "-o", str(tmp_path / "l.pdf")]) == cli.EXIT_OK
    assert "not rated: no ResNet101 in environment 'X'" in capsys.readouterr().err


# --- what the compound rests on; boundaries that fell back ------------------------------------------

@pytest.mark.parametrize("compound", ["A", "C", "E"])
def test_compound_notes_in_small_print_by_the_compound(find_summary, compound):
    summary = find_summary("inference", "VGG16", A100_PT)
    summary.update(compound=compound, compound_rests_on="5 of 7 weighted metrics",
                   boundaries_note="boundaries: fewer than 5 models in the group, the fixed ones")
    content = label_content(summary)
    assert content.compound_notes == ("Compound rests on 5 of 7 weighted metrics",
                                      "boundaries: fewer than 5 models in the group, the fixed ones")
    pdf = EnergyLabel(summary).to_pdf()
    text = pdf_text(pdf)
    assert "Compound rests on 5 of 7 weighted metrics" in text and "fewer than 5 models in the group" in text
    _no_overlaps(pdf)  # under the black arrow, or above it at E


def test_no_notes_where_the_summary_has_none(find_summary):
    summary = find_summary("inference", "VGG16", A100_PT)
    assert "compound_rests_on" not in summary and label_content(summary).compound_notes == ()
    assert "rests on" not in pdf_text(EnergyLabel(summary).to_pdf())


# --- which scheme rated it --------------------------------------------------------------------------

@pytest.mark.parametrize("scheme, said", [("mlee", "Rated by MLEE (honest)"), ("mlee-2022", "Rated by MLEE 2022"),
                                          ("ai-energy-score", "Rated by AI Energy Score"),
                                          ("my-own", "Rated by my-own")])
def test_the_label_names_its_scheme(find_summary, scheme, said):
    summary = {**find_summary("inference", "VGG16", A100_PT), "scheme": scheme}
    assert label_content(summary).scheme == said
    assert said in pdf_text(EnergyLabel(summary).to_pdf())


def test_no_scheme_no_line(find_summary):
    summary = find_summary("inference", "VGG16", A100_PT)
    summary.pop("scheme", None)
    assert "Rated by" not in pdf_text(EnergyLabel(summary).to_pdf())
    assert V.scheme_text({"scheme": "my.json", "scheme_title": "Mine"}) == "Rated by Mine"


# --- stars ------------------------------------------------------------------------------------------

def _stars(find_summary, compound: str = "4") -> dict:
    """A real summary with the keys a scheme of stars adds (levels, level_style; labels for letters)."""
    summary = find_summary("inference", "EfficientNetB0", A100_PT)
    to_label = dict(zip("ABCDE", STARS))
    for metric in summary["metrics"].values():
        metric["rating"] = to_label[metric["rating"]] if metric["rating"] else None
        metric["rating_p"] = {to_label[k]: p for k, p in (metric["rating_p"] or {}).items()} or None
    summary.update(scheme="ai-energy-score", levels=STARS, level_style="stars", compound=compound, n_runs=3,
                   compound_p={"5": 0.1, "4": 0.87, "3": 0.03, "2": 0.0, "1": 0.0})
    return summary


def test_a_scheme_of_stars_draws_stars_filled_by_level(find_summary):
    summary = _stars(find_summary)
    content = label_content(summary)
    assert (content.compound, content.compound_p, content.levels.style) == ("4", "87 %", "stars")
    assert [cell.rating for cell in content.cells] == [dict(zip("ABCDE", STARS))[summary_letter] for summary_letter
                                                       in ("C", "C", "B", "A")]
    label = EnergyLabel(summary)
    image = png_image(label.to_png(dpi=DPI))
    middle = L.STARS_TOP + L.STAR_SIZE * 0.55
    centres = [image.getpixel(_px(star_left(i) + L.STAR_SIZE / 2, middle)) for i in range(5)]
    assert all(_close(c, RATING_COLORS["B"]) for c in centres[:4])  # "4": the second level, B's colour
    assert _close(centres[4], L.STAR_EMPTY)
    arrow_x = L.ARROW_LEFT + L.ARROW_MIN_LENGTH - L.ARROW_TIP - 8
    assert not _close(image.getpixel(_px(arrow_x, L.arrow_row_top("A") + L.ARROW_HEIGHT / 2)), RATING_COLORS["A"])
    # each tile by its level's place: "3" is C's colour, "5" A's
    assert _close(_disc(image, 0), RATING_COLORS["C"]) and _close(_disc(image, 3), RATING_COLORS["A"])
    assert _close(_badge(image, 3, L.BADGE_STAR_WIDTH), RATING_COLORS["A"])
    text = pdf_text(label.to_pdf())
    assert "4" in text and "87 %" in text and "Rated by AI Energy Score" in text
    _no_overlaps(label.to_pdf())


@pytest.mark.parametrize("compound, filled", [("5", 5), ("3", 3), ("1", 1)])
def test_stars_filled_count_the_level(find_summary, compound, filled):
    summary = _stars(find_summary, compound)
    image = png_image(EnergyLabel(summary).to_png(dpi=DPI))
    middle = L.STARS_TOP + L.STAR_SIZE * 0.55
    colour = RATING_COLORS["ABCDE"[STARS.index(compound)]]
    full = [_close(image.getpixel(_px(star_left(i) + L.STAR_SIZE / 2, middle)), colour) for i in range(5)]
    assert full == [i < filled for i in range(5)]
    assert V.Levels(tuple(STARS), "stars").stars(compound) == filled


def test_stars_not_rated_are_empty_and_say_why(find_summary):
    summary = _not_rated(_stars(find_summary), "fewer than 5 models in 'H100' (class small): no bins")
    image = png_image(EnergyLabel(summary).to_png(dpi=DPI))
    middle = L.STARS_TOP + L.STAR_SIZE * 0.55
    assert all(_close(image.getpixel(_px(star_left(i) + L.STAR_SIZE / 2, middle)), L.STAR_EMPTY) for i in range(5))
    assert "NOT RATED" in pdf_text(EnergyLabel(summary).to_pdf())


@pytest.mark.parametrize("change, message", [
    ({"levels": ["5", "4"]}, "levels"), ({"levels": ["5", "5", "3", "2", "1"]}, "levels"),
    ({"level_style": "hearts"}, "level_style"), ({"compound": "E"}, "compound rating")])
def test_malformed_levels_are_named(find_summary, change, message):
    summary = {**_stars(find_summary), **change}
    with pytest.raises(ValueError, match=message):
        label_content(summary)


# --- wording ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("task", sorted(builtin_tasks()))
def test_each_tile_is_titled_with_its_propertys_own_name(task):
    prop_set = load_property_set(task)
    summary = {"task": task, "model": "m", "environment": "e", "compound": "A", "metrics": {}}
    cells = [cell for cell in label_content(summary).cells if cell.kind]
    keys = list(LABEL_METRICS[task]) if task in LABEL_METRICS else tile_keys(prop_set)
    assert [cell.caption for cell in cells] == [prop_set[key].name for key in keys]


def test_places_no_property_fills_are_left_empty():
    summary = {"task": "asr", "model": "m", "environment": "e", "compound": "A",
               "metrics": {"gpu_energy_per_query": {"value": 0.0015, "rating": "A"}}}
    cells = label_content(summary).cells
    assert [bool(cell.kind) for cell in cells] == [True, False, False, False]
    label = EnergyLabel(summary)
    text = pdf_text(label.to_pdf())
    assert text.count("Index:") == 1 and "\u2013" not in text  # no empty tile with a level or a figure
    image = png_image(label.to_png(dpi=DPI))
    for position in (1, 2, 3):  # not even a frame
        left, top = L.cell_origin(position)
        assert _close(image.getpixel(_px(left, top + L.CELL_HEIGHT / 2)), "#FFFFFF"), position
    left, top = L.cell_origin(0)
    assert not _close(image.getpixel(_px(left, top + L.CELL_HEIGHT / 2)), "#FFFFFF")
    assert label.content.subtitle == "Automatic speech recognition (AI Energy Score)"  # no dataset: no "n.a."


def test_tile_titles_are_drawn_in_one_size(monkeypatch):
    """Four titles of different lengths ("Median inter-token latency" the longest): one size, each
    wrapped where it needs to be, none shrunk on its own."""
    fitted = []
    original = drawing.fit_text

    def recording(text, font, size, min_size, width):
        result = original(text, font, size, min_size, width)
        fitted.append(result)
        return result

    monkeypatch.setattr(drawing, "fit_text", recording)
    prop_set = load_property_set("lm-arena-chat")
    summary = {"task": "lm-arena-chat", "model": "m", "environment": "e", "compound": "A", "metrics": {}}
    EnergyLabel(summary).to_pdf()
    names = [prop_set[key].name for key in prop_set.label_tiles]
    words = {word for name in names for word in name.replace("-", "- ").split()}
    titles = {(line, size) for line, size in fitted if line != "m" and line.strip()
              and set(line.replace("-", "- ").split()) <= words}
    assert {line for line, _ in titles} >= {"Median inter-", "token latency"}
    assert len({size for _, size in titles}) == 1, sorted(titles)


def _estimated_words(cell) -> int:
    return sum(field.count("estimated") for field in (cell.caption, cell.value, cell.note, cell.second,
                                                     cell.detail, cell.interval, cell.not_rated))


@pytest.mark.parametrize("energy", [{}, {"error_pct": 15}])
def test_estimated_is_said_once_per_tile(find_summary, energy):
    summary = find_summary("inference", "ResNet50", "Xeon(R) W-2155 - PyTorch 1.10.2+cu113")
    summary["energy"].update(sources={"pynvml": "measured", "estimate": "estimated"}, estimated=True, **energy)
    power = label_content(summary).cells[0]
    assert _estimated_words(power) == 1
    generic = {"task": "generic", "model": "m", "environment": "AMD EPYC 7742", "compound": "C",
               "metrics": {"energy_per_run": {"value": 5400.0, "index": 1.0, "rating": "C"}},
               "energy": {"sources": {"energy_per_run": "estimated"}, **energy}, "provenance": {"tool": "CodeCarbon"}}
    tile = label_content(generic).cells[3]
    assert _estimated_words(tile) == 1 and tile.detail == ("estimated \u00b1 15 %" if energy else "estimated")


@pytest.mark.parametrize("task, dataset, shown", [
    ("LLM chat (LM Arena prompts)", "LLM Chat (LM Arena)", "LLM chat (LM Arena prompts)"),
    ("LLM reasoning (GPQA Diamond)", "GPQA Diamond", "LLM reasoning (GPQA Diamond)"),
    ("Automatic speech recognition (AI Energy Score)", "AI Energy Score asr",
     "Automatic speech recognition (AI Energy Score)"),
    ("Inference", "ImageNet", "Inference  \u00b7  ImageNet")])
def test_the_subtitle_does_not_repeat_itself(find_summary, task, dataset, shown):
    content = label_content(find_summary("inference", "VGG16", A100_PT))
    from dataclasses import replace
    assert replace(content, task=task, dataset=dataset).subtitle == shown


def test_an_imported_subtitle_says_the_task_once():
    summary = {"task": "lm-arena-chat", "model": "m", "environment": "e", "compound": "A", "metrics": {},
               "dataset": "LLM Chat (LM Arena)"}
    text = pdf_text(EnergyLabel(summary).to_pdf())
    assert "LLM chat (LM Arena prompts)" in text and "LLM Chat (LM Arena)" not in text
    assert repeats("LLM Chat (LM Arena)", "LLM chat (LM Arena prompts)") and not repeats("ImageNet", "Inference")


@pytest.mark.parametrize("ci95, text", [
    (None, ""), ([4.02, 4.02], ""), ([4.0201, 4.0203], ""),  # the ends read the same: says nothing
    ([0.61, 0.66], "95 % CI 610 mJ \u2013 660 mJ"), ([float("nan"), 1.0], "")])
def test_intervals_only_where_they_say_something(ci95, text):
    assert interval_text({"ci95": ci95}, "Ws" if text else "M") == text


def test_an_interval_of_equal_ends_is_not_drawn(find_summary):
    summary = find_summary("inference", "EfficientNetB0", A100_PT)
    value = summary["metrics"]["parameters"]["value"]
    summary["metrics"]["parameters"]["ci95"] = [value, value]
    summary["metrics"]["inference_time"]["ci95"] = None
    assert "95 % CI" not in pdf_text(EnergyLabel(summary).to_pdf())
