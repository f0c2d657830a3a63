"""The label as SVG (issue 26): the PDF's drawing, text for text and place for place, as one
standalone, accessible ``<svg>`` with every name escaped."""
from __future__ import annotations

import ctypes
import shutil
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from mlel.labels import EnergyLabel, layout as L
from mlel.labels.render import page_height
from mlel.labels.svg import render_svg
from mlel.labels.svgcanvas import path_data, svg_matrix, xml_text
from mlel.ratings import RatingOptions
from mlel.ratings.report import rate_directory

A100_PT = "A100 x8 - PyTorch 1.10.2+cu113"
NS = "{http://www.w3.org/2000/svg}"
STARS = ["5", "4", "3", "2", "1"]
HOSTILE = ('<script>alert("x")</script> & \'quoted\' ]]> Ünïcødé Σ-net \u65e5\u672c '
           + "very-long-name-" * 12)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


# --- the labels compared ------------------------------------------------------------------------

def _plain(find_summary, reference_dir, tmp_path):
    return find_summary("inference", "EfficientNetB0", A100_PT)


def _lone(find_summary, reference_dir, tmp_path):
    """A real lone model: one 2022 log rated on its own (no reference beside it)."""
    log = find_summary("inference", "VGG16", A100_PT)["logs"][0]
    shutil.copy(reference_dir / log, tmp_path / log)
    summary = rate_directory(tmp_path, RatingOptions()).rated[0]
    assert summary["compound"] is None and summary["not_rated"].startswith("lone model")
    return summary


def _metric_not_rated(find_summary, reference_dir, tmp_path):
    """The pipeline's own: EfficientNet has no full-training figures, its tiles read "–"."""
    summary = find_summary("training", "EfficientNetB0", A100_PT)
    assert summary["metrics"]["train_power_draw"]["rating"] is None
    return summary


def _stars(find_summary, reference_dir, tmp_path):
    """The keys a scheme of stars (ai-energy-score) adds to a real summary."""
    summary = find_summary("inference", "EfficientNetB0", A100_PT)
    to_label = dict(zip("ABCDE", STARS))
    for metric in summary["metrics"].values():
        metric["rating"] = to_label[metric["rating"]] if metric["rating"] else None
        metric["rating_p"] = {to_label[k]: p for k, p in (metric["rating_p"] or {}).items()} or None
    summary.update(scheme="ai-energy-score", levels=STARS, level_style="stars", compound="4", n_runs=3,
                   compound_p={"5": 0.1, "4": 0.87, "3": 0.03, "2": 0.0, "1": 0.0})
    return summary


def _hostile(find_summary, reference_dir, tmp_path):
    summary = find_summary("inference", "ResNet50", A100_PT)
    summary["model"] = HOSTILE
    return summary


CASES = {"plain": _plain, "lone": _lone, "metric-not-rated": _metric_not_rated, "stars": _stars,
         "hostile": _hostile}


@pytest.fixture(params=list(CASES))
def label(request, find_summary, reference_dir, tmp_path) -> EnergyLabel:
    return EnergyLabel(CASES[request.param](find_summary, reference_dir, tmp_path))


# --- reading both back --------------------------------------------------------------------------

def _texts(svg: str) -> list[tuple[str, float, float, float]]:
    """(text, left, baseline from the page's bottom, font size) of every <text>."""
    root = ET.fromstring(svg)
    return [(t.text or "", float(t.get("x")), L.PAGE_HEIGHT - float(t.get("y")), float(t.get("font-size")))
            for t in root.iter(NS + "text")]


def _pdf_chars(pdf: bytes) -> tuple[str, list[tuple[str, float, float, float]]]:
    """The page's text as pdfium extracts it, and (char, origin x, origin y, font size) of each."""
    document = pdfium.PdfDocument(pdf)
    try:
        textpage = document[0].get_textpage()
        chars = []
        for index in range(textpage.count_chars()):
            x, y = ctypes.c_double(), ctypes.c_double()
            pdfium_c.FPDFText_GetCharOrigin(textpage.raw, index, ctypes.byref(x), ctypes.byref(y))
            code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
            chars.append((chr(code), x.value, y.value, pdfium_c.FPDFText_GetFontSize(textpage.raw, index)))
        return textpage.get_text_range(), chars
    finally:
        document.close()


def _words(text: str) -> Counter:
    """Words, whitespace normalised; pdfium marks a hyphen that ends a line as U+FFFE."""
    return Counter(text.replace("\ufffe", "-").split())


# --- the differential tests ---------------------------------------------------------------------

def test_the_svg_says_word_for_word_what_the_pdf_says(label):
    svg_words = _words(" ".join(text for text, *_ in _texts(render_svg(label.content))))
    pdf_words = _words(_pdf_chars(label.to_pdf())[0])
    assert svg_words == pdf_words, (svg_words - pdf_words, pdf_words - svg_words)
    assert len(svg_words) > 30


def test_key_texts_stand_where_the_pdf_puts_them(label):
    """The model name's and the compound label's first glyph: same origin within 1 pt, same size."""
    content = label.content
    texts = _texts(render_svg(content))
    _, chars = _pdf_chars(label.to_pdf())
    top = page_height(content)  # taller by a trust strip (issue 28): positions run from the top
    model = next(t for t in texts if t[2] == top - L.MODEL_BASELINE and t[1] == L.CONTENT_LEFT)
    assert model[0][:6] in content.model  # fitted: shrunk or cut with "…", never another text
    keys = [model]
    if content.compound:
        keys.append(next(t for t in texts if t[0] == content.compound and t[3] >= 8 and t[1] > L.POINTER_LEFT))
    for text, left, baseline, size in keys:
        near = [c for c in chars if c[0] == text[0] and abs(c[1] - left) <= 1 and abs(c[2] - baseline) <= 1]
        assert near, (text, left, baseline)
        assert abs(near[0][3] - size) <= 0.1


def test_a_standalone_accessible_svg(label):
    svg = render_svg(label.content)
    assert svg.startswith("<svg ") and svg.endswith("</svg>") and "<?xml" not in svg
    root = ET.fromstring(svg)  # well-formed XML, whatever the name holds
    assert root.tag == NS + "svg" and root.get("role") == "img"
    height = page_height(label.content)  # a trust strip's page starts above 0 (the canvas flips at PAGE_HEIGHT)
    assert root.get("viewBox") == f"0 {L.PAGE_HEIGHT - height:g} {L.PAGE_WIDTH:g} {height:g}"
    title = root.find(NS + "title").text
    assert title == root.get("aria-label")
    content = label.content
    assert content.model[:40] in title and content.task.lower() in title
    if content.compound:
        assert f"compound rating {content.compound}" in title
    else:
        assert title.endswith("not rated") or title.endswith("not graded")


def test_stars_say_so_in_the_title(find_summary, reference_dir, tmp_path):
    svg = render_svg(EnergyLabel(_stars(find_summary, reference_dir, tmp_path)).content)
    assert ET.fromstring(svg).find(NS + "title").text.endswith("compound rating 4 of 5 stars")


# --- escaping -----------------------------------------------------------------------------------

def test_hostile_names_are_text_never_markup(find_summary, reference_dir, tmp_path):
    summary = _hostile(find_summary, reference_dir, tmp_path)
    summary["model"] = '"><script>alert(1)</script>&amp;\x01\x1b\ud800 & ok'
    svg = render_svg(EnergyLabel(summary).content)
    assert "<script" not in svg and "&amp;amp;" in svg
    root = ET.fromstring(svg)
    assert not list(root.iter(NS + "script")) and not list(root.iter("script"))
    assert root.get("aria-label").startswith('Energy label: "><script>alert(1)</script>&amp;\ufffd\ufffd\ufffd & ok')
    assert any(text.startswith('"><script>') for text, *_ in _texts(svg))


@pytest.mark.parametrize("raw, safe", [("a<b>&'\"c", "a&lt;b&gt;&amp;&#x27;&quot;c"), ("\x00\x08\x0b\x1f", "\ufffd" * 4),
                                       ("tab\tnew\nline", "tab\tnew\nline"), ("\ud83d", "\ufffd"),
                                       ("\ufffe\uffff", "\ufffd\ufffd"), ("日本 Σ", "日本 Σ")])
def test_xml_text(raw, safe):
    assert xml_text(raw) == safe


def test_path_data_is_the_pdf_paths_geometry():
    """y flips to run down from the page's top; curves, rectangles and closes map one to one."""
    top = L.PAGE_HEIGHT
    assert path_data("1 2 m 3 4 l h") == f"M1 {top - 2:g}L3 {top - 4:g}Z"
    assert path_data("0 0 2 1 re") == f"M0 {top:g}h2v-1h-2Z"
    assert path_data("0 0 2 1 re", flip=False) == "M0 0h2v1h-2Z"  # a transform places it
    assert path_data("0 0 m 1 1 2 2 v", flip=False) == "M0 0C0 0 1 1 2 2"
    assert path_data("0 0 m 1 1 2 2 y", flip=False) == "M0 0C1 1 2 2 2 2"
    assert svg_matrix((2, 0, 0, 2, 10, 20)) == f"matrix(2 0 0 -2 10 {top - 20:g})"
    with pytest.raises(ValueError, match="'l' takes 2"):
        path_data("1 l")


# --- speed (measured, not asserted) ---------------------------------------------------------------

def test_svg_speed_is_noted(rated_2022, capsys):
    contents = [EnergyLabel(summary).content for summary in rated_2022[:60]]
    render_svg(contents[0])  # warm the shared caches (QR codes, shapes)
    start = time.perf_counter()
    for content in contents:
        render_svg(content)
    rate = len(contents) / (time.perf_counter() - start)
    with capsys.disabled():
        print(f"\nSVG labels: {rate:.0f} per second")


# --- seen in a browser ----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.browser
def test_the_svg_in_chromium(find_summary):
    """Rasterised by Chromium next to the PDF's PNG, both saved to test-artifacts/ to look at."""
    if not (Path("/usr/bin/chromium").exists() or shutil.which("chromium")) or not shutil.which("chromedriver"):
        pytest.skip("needs Debian's chromium + chromium-driver (make browser)")
    from selenium import webdriver

    from tests.conftest import pytest_setup_options

    label = EnergyLabel(find_summary("inference", "EfficientNetB0", A100_PT))
    ARTIFACTS.mkdir(exist_ok=True)
    page = ARTIFACTS / "label_svg.html"
    page.write_text(f"<!doctype html><html lang='en'><title>label</title><body style='margin:0'>"
                    f"{render_svg(label.content)}</body></html>", encoding="utf-8")
    (ARTIFACTS / "label_pdf.png").write_bytes(label.to_png(dpi=72))
    driver = webdriver.Chrome(options=pytest_setup_options())
    try:
        driver.set_page_load_timeout(10)
        driver.get(page.as_uri())
        svg = driver.find_element("css selector", "svg")
        assert (svg.size["width"], svg.size["height"]) == (L.PAGE_WIDTH, page_height(label.content))
        # the model name is real, laid-out text where the layout puts it
        box = driver.execute_script(
            "const t=[...document.querySelectorAll('text')].find(e=>e.textContent==='EfficientNetB0');"
            "const b=t.getBBox(); return [b.x, b.y, b.width, b.height, t.getComputedTextLength()];")
        shift = page_height(label.content) - L.PAGE_HEIGHT  # the viewBox starts that much above 0
        assert abs(box[0] - L.CONTENT_LEFT) < 1 and box[1] < L.MODEL_BASELINE - shift < box[1] + box[3]
        svg.screenshot(str(ARTIFACTS / "label_svg.png"))
    finally:
        driver.quit()
