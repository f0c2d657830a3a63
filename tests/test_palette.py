"""The rating palette stays apart for the common colour-vision deficiencies, and its letters read.

Colour-vision deficiency is simulated with Machado, Oliveira & Fernandes (2009), severity 1.0, on
linear RGB; differences are CIE76 ΔE in CIELAB (D65). 20 is a difference anyone notices at a glance
(2.3 is a just-noticeable one). The SPEC §6 colours fail it, which shows the test can fail.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from mlel.base.colours import contrast_ratio
from mlel.ratings import RATING_COLORS, RATING_TEXT_COLORS, RATINGS

SPEC_2022 = {"A": "#639B30", "B": "#B8AC2B", "C": "#F8B830", "D": "#EF7D29", "E": "#E52421"}
SIMULATIONS = {
    "normal vision": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
MIN_DELTA_E = 20.0
SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
D65 = np.array([0.95047, 1.0, 1.08883])


def _linear(hex_code: str) -> np.ndarray:
    c = np.array([int(hex_code.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = SRGB_TO_XYZ @ np.clip(linear_rgb, 0, 1) / D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def closest_pair(palette: dict[str, str], simulation: np.ndarray) -> tuple[float, str]:
    seen = {letter: _lab(simulation @ _linear(hex_code)) for letter, hex_code in palette.items()}
    return min((float(np.linalg.norm(seen[a] - seen[b])), a + b) for a, b in itertools.combinations(RATINGS, 2))


@pytest.mark.parametrize("vision", SIMULATIONS)
def test_every_two_levels_stay_apart(vision):
    delta_e, pair = closest_pair(RATING_COLORS, SIMULATIONS[vision])
    assert delta_e >= MIN_DELTA_E, f"{pair} are only ΔE {delta_e:.1f} apart for {vision}"


def test_the_spec_colours_would_fail_for_protanopes():
    delta_e, pair = closest_pair(SPEC_2022, SIMULATIONS["protanopia"])
    assert pair == "AD" and delta_e < 2.3  # why the palette moved: A and D look the same


def test_the_palette_keeps_the_green_to_red_order():
    hues = [np.degrees(np.arctan2(lab[2], lab[1])) for lab in (_lab(_linear(RATING_COLORS[r])) for r in RATINGS)]
    assert hues == sorted(hues, reverse=True), hues  # A greenest … E reddest


@pytest.mark.parametrize("letter", RATINGS)
def test_the_letter_reads_on_its_colour(letter):
    assert contrast_ratio(RATING_COLORS[letter], RATING_TEXT_COLORS[letter]) >= 4.5  # WCAG AA, body text
