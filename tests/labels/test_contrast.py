"""Every level letter on a label reads on the colour under it (WCAG AA, 4.5:1), drawn as the PDF is.

The SVG is drawn by the PDF's own routine (mlel.labels.svg), so a letter's fill and the shape drawn
just before it are the PDF's too.
"""
from __future__ import annotations

import re

from mlel.base.colours import contrast_ratio
from mlel.labels import EnergyLabel
from mlel.labels.svg import render_svg
from mlel.ratings import RATINGS
from mlel.ratings.report import rate_directory

SHAPE_THEN_LETTER = re.compile(r'<path[^>]*\sfill="(#[0-9a-fA-F]{6})"[^>]*/>\s*<text[^>]*\sfill="(#[0-9a-fA-F]{6})"'
                               r'[^>]*>([A-E])</text>')


def test_each_letter_reads_on_its_arrow_and_badge(reference_dir):
    summaries = rate_directory(reference_dir).rated
    seen = set()
    for letter in RATINGS:  # one label per compound level: all five arrows, badges of every level
        summary = next(s for s in summaries if s.get("compound") == letter)
        for shape, text, shown in SHAPE_THEN_LETTER.findall(render_svg(EnergyLabel(summary).content)):
            assert contrast_ratio(shape, text) >= 4.5, f"{shown} in {text} on {shape}"
            seen.add(shape.lower())
    assert len(seen) >= 6  # the five arrows' colours and the black compound pointer were all checked
