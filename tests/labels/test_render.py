"""The drawn label: one vector page whose text and pixels say what the summary says."""
from __future__ import annotations

import base64
import json
import time

import pytest

from mlel.labels import EnergyLabel, layout as L
from mlel.labels import render
from mlel.labels.render import ELLIPSIS, MAX_TEXT_CHARS, MISSING_GLYPH, fit_text, pointer_center, printable
from mlel.ratings import RATING_COLORS, RATINGS
from tests.labels.conftest import char_boxes, pdf_pages, pdf_text, png_image

A100_PT = "A100 x8 - PyTorch 1.10.2+cu113"
DPI = 144  # 2 pixels per point
LONG_NAME = "EfficientNetB7-NoisyStudent-ImageNet21k-finetuned-800px-v2xl"  # 60 characters


def _px(x: float, top: float) -> tuple[int, int]:
    return round(x * DPI / 72), round(top * DPI / 72)


def _close(pixel, hex_colour: str, tolerance: int = 6) -> bool:
    target = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, target))


def test_inference_label_of_a_2022_log(find_summary, reference_dir):
    summary = find_summary("inference", "EfficientNetB0", A100_PT)
    pdf = EnergyLabel(summary).to_pdf()
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf) == 1
    assert b"/Subtype /Image" not in pdf  # vectors only, no bitmap
    text = pdf_text(pdf)
    for expected in ("ENERGY", "EfficientNetB0", "Inference", "ImageNet", A100_PT, "877 mJ", "per sample",
                     "1.87 ms", "77.7 %", "Top-5: 93.5 %", "5.29 M", "402 MFLOPs", "Sources: GPU",
                     "Reference model: ResNet101", "infer_2022_04_01_15_15_17.json"):
        assert expected in text, expected
    # the power figure, recomputed from the raw log: energy of all sources / 50,000 samples (SPEC §4)
    raw = json.loads((reference_dir / "infer_2022_04_01_15_15_17.json").read_text())["validation"]
    energy = sum(raw[k]["total"]["total_power_draw"] for k in raw
                 if k.startswith("monitoring_") and raw[k] and raw[k]["total"]["total_power_draw"] >= 0)
    assert f"{energy / 50_000 * 1000:.3g} mJ" in text
    # the whole run in Wh: J / 3600 (a J / 3.6e6 slip would read 12.2 mWh)
    assert f"Whole run: {energy / 3600:.3g} Wh" in text and 10 < energy / 3600 < 100


def test_training_label_of_a_2022_log(find_summary):
    pdf = EnergyLabel(find_summary("training", "ResNet50", A100_PT)).to_pdf()
    assert pdf_pages(pdf) == 1
    text = pdf_text(pdf)
    for expected in ("ResNet50", "Training", A100_PT, "22.2 kWh", "full training", "Per epoch: 247 Wh",
                     "22.2 h", "Per epoch: 14.8 min", "75.8 %", "25.6 M", "Operations: n.a."):
        assert expected in text, expected


def test_missing_values_render_na(find_summary):
    text = pdf_text(EnergyLabel(find_summary("training", "EfficientNetB0", A100_PT)).to_pdf())
    assert text.count("n.a.") >= 3  # full-training energy and time, GFLOPs
    assert "Per epoch: " in text and " Wh" in text


def test_estimated_energy_says_so(find_summary):
    summary = find_summary("inference", "ResNet50", "Xeon(R) W-2155 - PyTorch 1.10.2+cu113")
    summary["energy"].update(sources={"estimate": "estimated"}, estimated=True, error_pct=15)
    pdf = EnergyLabel(summary).to_pdf()
    assert "Sources: CPU (estimated \u00b1 15 %)" in pdf_text(pdf) and _inside_page(pdf) == []
    assert pdf_text(pdf).count("estimated") == 1  # once per tile, with its error
    summary["energy"].update(sources={"pynvml": "measured", "pyrapl": "measured"}, estimated=False)
    text = pdf_text(EnergyLabel(summary).to_pdf())
    assert "Sources: GPU, CPU" in text and "estimated" not in text


@pytest.mark.parametrize("compound", RATINGS)
def test_png_has_the_black_arrow_at_the_compound_row(find_summary, compound):
    summary = find_summary("inference", "ResNet50", "A100 x8 - TensorFlow 2.8.0")
    summary["compound"] = compound
    label = EnergyLabel(summary)
    image = png_image(label.to_png(dpi=DPI))
    # the page is taller by the trust strip (issue 28): the layout's positions from the top hold
    assert image.size == (round(L.PAGE_WIDTH * 2), round(render.page_height(label.content) * 2))
    pointer_x = L.POINTER_LEFT + L.POINTER_TIP + 4  # the black body, left of its letter
    arrow_x = L.ARROW_LEFT + L.ARROW_MIN_LENGTH - L.ARROW_TIP - 8  # inside every coloured arrow
    for rating in RATINGS:
        middle = L.arrow_row_top(rating) + L.ARROW_HEIGHT / 2
        assert _close(image.getpixel(_px(arrow_x, middle)), RATING_COLORS[rating]), rating
        at_pointer = image.getpixel(_px(pointer_x, middle))
        assert _close(at_pointer, "#000000") == (rating == compound), (rating, at_pointer)
    # the compound letter is white on the black arrow
    x, middle = pointer_center(compound, bool(label.content.compound_p))
    letter_row = [image.getpixel(_px(x + dx / 4, middle)) for dx in range(-20, 21)]
    assert any(_close(p, "#FFFFFF", 30) for p in letter_row)


def test_real_compound_rating_colour_at_its_row(find_summary):
    summary = find_summary("inference", "EfficientNetB0", A100_PT)
    assert summary["compound"] == "B"
    image = png_image(EnergyLabel(summary).to_png(dpi=DPI))
    middle = L.arrow_row_top("B") + L.ARROW_HEIGHT / 2
    row = {image.getpixel(_px(x, middle)) for x in range(int(L.ARROW_LEFT), int(L.CONTENT_RIGHT), 2)}
    assert any(_close(p, RATING_COLORS["B"], 2) for p in row)
    assert any(_close(p, "#000000", 2) for p in row)


def test_pictograms_are_tinted_with_their_metric_rating(find_summary):
    summary = find_summary("inference", "EfficientNetB0", A100_PT)  # power C, time C, top-1 B, params A
    image = png_image(EnergyLabel(summary).to_png(dpi=DPI))
    for position, key in enumerate(("inference_power_draw", "inference_time", "top1_val", "parameters")):
        left, top = L.cell_origin(position)
        # the disc's rim, left of its centre: tint, whatever the white symbol does
        pixel = image.getpixel(_px(left + L.CELL_PAD + L.ICON_SIZE * 0.08, top + L.CELL_PAD + L.ICON_SIZE / 2))
        assert _close(pixel, RATING_COLORS[summary["metrics"][key]["rating"]]), key


def _inside_page(pdf: bytes) -> list[str]:
    (width, height), boxes = char_boxes(pdf)
    outside = [ch for ch, (left, bottom, right, top) in boxes if ch.strip() and right > left and not (
        L.BORDER_INSET <= left and right <= width - L.BORDER_INSET
        and L.BORDER_INSET <= bottom and top <= height - L.BORDER_INSET)]
    return outside


def test_a_60_character_model_name_stays_inside_the_page(find_summary):
    summary = find_summary("inference", "EfficientNetB0", A100_PT)
    summary["model"] = LONG_NAME
    assert len(LONG_NAME) == 60
    pdf = EnergyLabel(summary).to_pdf()
    assert LONG_NAME in pdf_text(pdf)  # shrunk, not cut
    assert _inside_page(pdf) == []


def test_absurd_names_are_cut_with_an_ellipsis_inside_the_page(find_summary):
    summary = find_summary("training", "ResNet50", A100_PT)
    summary["model"] = "W" * 300
    summary["environment"] = "NVIDIA GeForce RTX 4090 Laptop GPU x4 - " * 6
    summary["dataset"] = "ImageNet-21k " * 20
    pdf = EnergyLabel(summary).to_pdf()
    text = pdf_text(pdf)
    assert "W" * 40 in text and "W" * 300 not in text and ELLIPSIS in text
    assert _inside_page(pdf) == []


def test_fit_text_shrinks_then_cuts():
    assert fit_text("ResNet50", L.FONT_BOLD, 20, 6, 200) == ("ResNet50", 20)
    text, size = fit_text("x" * 60, L.FONT_BOLD, 20, 6, 260)
    assert text == "x" * 60 and 6 <= size < 20
    text, size = fit_text("x" * 300, L.FONT_BOLD, 20, 6, 200)
    assert text.endswith(ELLIPSIS) and size == 6


def _count_measured_characters(monkeypatch) -> list[int]:
    """Every stringWidth call of the renderer (its primitives and its scale too) from now on adds
    the length it measured."""
    from mlel.labels import drawing, scale

    measured, original = [0], render.stringWidth

    def counting(text, font, size, *args):
        measured[0] += len(text)
        return original(text, font, size, *args)

    for module in (render, drawing, scale):
        monkeypatch.setattr(module, "stringWidth", counting)
    return measured


def test_work_per_label_does_not_grow_with_the_name(find_summary, monkeypatch):
    """A 100,000-character name costs what a 10,000-character one does (the 2022 fitting cut one
    character at a time and measured the rest again: quadratic, minutes per label)."""
    summary = find_summary("inference", "VGG16", A100_PT)
    measured = _count_measured_characters(monkeypatch)
    work = {}
    for length in (10_000, 100_000):
        summary["model"] = "ResNet-" + "x" * length
        measured[0] = 0
        pdf = EnergyLabel(summary).to_pdf()
        work[length] = measured[0]
        assert ELLIPSIS in pdf_text(pdf) and _inside_page(pdf) == []
    assert work[10_000] == work[100_000] < 20 * MAX_TEXT_CHARS


def _cpu_s(summary) -> float:
    start = time.process_time()
    EnergyLabel(summary).to_pdf()
    return time.process_time() - start


def test_a_100000_character_name_renders_about_as_fast_as_a_short_one(find_summary):
    summary = find_summary("inference", "VGG16", A100_PT)
    short, long = dict(summary, model="N" * 100), dict(summary, model="N" * 100_000)
    _cpu_s(short)  # warm caches (fonts, QR codes)
    ratio = min(_cpu_s(long) for _ in range(3)) / min(_cpu_s(short) for _ in range(3))
    assert ratio < 5, ratio  # CPU time of this process: load beside it does not count


def test_fit_text_measures_log_n_times(monkeypatch):
    measured = _count_measured_characters(monkeypatch)
    text, size = fit_text("W" * 900, L.FONT_BOLD, 20, 6, 200)
    assert text.endswith(ELLIPSIS) and size == 6
    assert stringwidth_fits(text, 200) and not stringwidth_fits(text[:-1] + "W" + ELLIPSIS, 200)
    assert measured[0] < 12 * 900  # binary search: ~log2(900) measurements, not 900


def stringwidth_fits(text: str, width: float) -> bool:
    from reportlab.pdfbase.pdfmetrics import stringWidth
    return stringWidth(text, L.FONT_BOLD, 6) <= width


def test_characters_no_font_has_are_replaced_visibly(find_summary):
    summary = find_summary("inference", "VGG16", A100_PT)
    summary["model"] = "\u6a21\u578b\U0001F680-Net \u00f1"  # CJK and a rocket: not in DejaVu Sans
    text = pdf_text(EnergyLabel(summary).to_pdf())
    assert MISSING_GLYPH * 3 + "-Net \u00f1" in text and "?" not in text


def test_without_dejavu_helvetica_draws_a_visible_placeholder(tmp_path):
    assert printable("\u6a21 \u00f1", L.FONT, dirs=(tmp_path,)) == ("[?] \u00f1", L.FONT)
    text, font = printable("\u6a21 \u00f1 \u0416", L.FONT)  # DejaVu: Debian's, else matplotlib's
    assert (text, font) == (MISSING_GLYPH + " \u00f1 \u0416", "MLEE-DejaVuSans")


def test_text_outside_winansi_is_drawn(find_summary):
    summary = find_summary("inference", "VGG16", A100_PT)
    summary["model"] = "Модель-ñ αβγ"
    assert "Модель-ñ αβγ" in pdf_text(EnergyLabel(summary).to_pdf())


def test_same_summary_same_bytes(find_summary):
    summary = find_summary("inference", "VGG16", A100_PT)
    assert EnergyLabel(summary).to_pdf() == EnergyLabel(summary).to_pdf()


def test_png_and_data_uri(find_summary):
    label = EnergyLabel(find_summary("inference", "MobileNetV2", A100_PT))
    png = label.to_png(dpi=72)
    assert png.startswith(b"\x89PNG") and png_image(png).size == (round(L.PAGE_WIDTH),
                                                                          round(render.page_height(label.content)))
    uri = label.data_uri()
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="dpi"):
        label.to_png(dpi=0)
    assert "MobileNetV2" in repr(label)


def test_every_2022_summary_draws(rated_2022):
    for summary in rated_2022[::10]:
        pdf = EnergyLabel(summary).to_pdf()
        assert summary["model"] in pdf_text(pdf)


def test_layout_fits_the_page():
    assert L.ARROW_LEFT + L.arrow_length("E") + 8 < L.POINTER_LEFT  # longest arrow clear of the pointer
    assert L.SCALE_BOTTOM < L.ENV_RULE < L.GRID_TOP
    left, top = L.cell_origin(3)
    assert left + L.CELL_WIDTH <= L.CONTENT_RIGHT + 1e-9 and top + L.CELL_HEIGHT == L.GRID_BOTTOM
    assert L.FOOTER_BASELINE < L.PAGE_HEIGHT - L.BORDER_INSET - 3
    assert L.QR_LEFT + L.QR_SIZE <= L.CONTENT_RIGHT and L.QR_CAPTION_BASELINE < L.HEADER_RULE
    assert L.SECOND_BASELINE < L.CELL_HEIGHT - 3
    # two lines of title, then two of detail (sources, their error), clear of the main figure's capitals
    last_title = L.ICON_CAPTION_BASELINE + (L.CAPTION_LINES - 1) * L.ICON_CAPTION_SIZE * L.CAPTION_LEADING
    last_detail = last_title + L.ICON_DETAIL_GAP + 2 + (L.DETAIL_LINES - 1) * L.ICON_DETAIL_LEADING
    assert last_detail + 2 < L.VALUE_BASELINE - 0.72 * L.VALUE_SIZE
    # the notes under the compound stay above the environment's rule
    assert L.NOTES_BOTTOM + 2 < L.ENV_RULE and L.NOTES_LEFT > L.ARROW_LEFT + L.arrow_length("E")
    assert L.STARS_LEFT + 5 * L.STAR_SIZE + 4 * L.STAR_GAP < L.NOT_GRADED_LEFT
    assert L.SCHEME_BASELINE < L.HEADER_RULE - 2
