"""Fixtures of the label tests: the 2022 logs rated once per session, and ways to read a label back."""
from __future__ import annotations

import copy
import io

import pypdfium2 as pdfium
import pytest
from PIL import Image

from mlel.ratings import RatingOptions
from mlel.ratings.report import rate_directory


@pytest.fixture(scope="session")
def rated_2022(reference_dir) -> list[dict]:
    return rate_directory(reference_dir, RatingOptions()).rated


@pytest.fixture(scope="session")
def find_summary(rated_2022):
    def find(task: str, model: str, environment: str) -> dict:
        return copy.deepcopy(next(s for s in rated_2022 if (s["task"], s["model"], s["environment"])
                                  == (task, model, environment)))
    return find


def pdf_pages(pdf: bytes) -> int:
    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


SOFT_HYPHEN = "\ufffe"  # pdfium's mark of a hyphen that ends a line ("inter-" / "token")


def pdf_text(pdf: bytes) -> str:
    """The page's text as pdfium extracts it, lines joined by single spaces; a word broken after
    its hyphen joined again ("Median inter-token latency")."""
    document = pdfium.PdfDocument(pdf)
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    return " ".join(text.replace("\r", "\n").split()).replace(SOFT_HYPHEN + " ", "-").replace(SOFT_HYPHEN, "-")


def char_boxes(pdf: bytes) -> tuple[tuple[float, float], list[tuple[str, tuple[float, float, float, float]]]]:
    """((page width, height), [(char, (left, bottom, right, top))]) of every glyph on the page."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        boxes = [(text[i] if i < len(text) else "", textpage.get_charbox(i))
                 for i in range(textpage.count_chars())]
        return page.get_size(), boxes
    finally:
        document.close()


def png_image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")
