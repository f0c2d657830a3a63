"""Energy labels (SPEC §6): one rated summary -> a vector PDF, a PNG, or a PNG data URI.

>>> from mlel.ratings.report import rate_directory
>>> summary = rate_directory("results").rated[0]
>>> pdf = EnergyLabel(summary).to_pdf()
"""
from __future__ import annotations

import base64
from typing import Mapping

from mlel.labels.content import LabelContent, label_content
from mlel.labels.render import rasterise, render_pdf

__all__ = ["EnergyLabel", "LabelContent", "label_content"]


class EnergyLabel:
    """The label of one rated summary (one model, task and environment).

    ``link`` overrides what the QR code opens (default: the model's paper, else the project page);
    ``property_set`` gives the tiles of a task that has no built-in property set.
    The texts are fixed at construction (``content``); drawing happens on demand.
    """

    def __init__(self, summary: Mapping, link: str | None = None, property_set=None):
        self.content: LabelContent = label_content(summary, link, property_set)
        self._pdf: bytes | None = None

    def __repr__(self) -> str:
        c = self.content
        return f"EnergyLabel({c.model!r}, {c.task.lower()!r}, {c.environment!r}, compound={c.compound!r})"

    def to_pdf(self) -> bytes:
        """A one-page vector PDF."""
        if self._pdf is None:
            self._pdf = render_pdf(self.content)
        return self._pdf

    def to_png(self, dpi: float = 150) -> bytes:
        """The PDF rasterised to PNG (at 150 dpi: 600 x 1108 pixels)."""
        return rasterise(self.to_pdf(), dpi)

    def data_uri(self, dpi: float = 110) -> str:
        """A PNG data URI, for an <img> in the browser without any file."""
        return "data:image/png;base64," + base64.b64encode(self.to_png(dpi)).decode("ascii")
