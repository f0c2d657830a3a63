"""The label as SVG, for web pages: the same drawing as the PDF (``render.draw_label`` on an
:class:`~mlel.labels.svgcanvas.SvgCanvas`), with real, selectable text.

>>> from mlel.labels import EnergyLabel
>>> svg = render_svg(EnergyLabel(summary).content)  # doctest: +SKIP
"""
from __future__ import annotations

from mlel.labels import layout as L
from mlel.labels.content import LabelContent
from mlel.labels.render import draw_label, grade_text, label_title, page_height
from mlel.labels.svgcanvas import DEFAULT_FAMILY, SvgCanvas, number, xml_text

__all__ = ["render_svg", "svg_title"]

SVG_NS = "http://www.w3.org/2000/svg"


def svg_title(content: LabelContent) -> str:
    """What the image says to a screen reader: model, task and compound rating."""
    return f"{label_title(content)}: {grade_text(content)}"


def render_svg(content: LabelContent) -> str:
    """One standalone ``<svg>`` element (no XML declaration: inline it in HTML, or save it as a
    .svg file), its ``viewBox`` the label's page in points, every text an XML-escaped ``<text>``."""
    canvas = SvgCanvas()
    draw_label(canvas, content)
    width, height = number(L.PAGE_WIDTH), number(page_height(content))
    # the canvas flips y at PAGE_HEIGHT: a page taller by a trust strip (drawn shifted up by it,
    # render.draw_label) starts that much above 0
    top = number(L.PAGE_HEIGHT - page_height(content))
    shift = f' y="{top}"' if page_height(content) != L.PAGE_HEIGHT else ""
    title = xml_text(svg_title(content))
    # xml:space: a name's double spaces stay as the PDF draws them; the white page under the
    # label: it stays legible on a dark page
    return (f'<svg xmlns="{SVG_NS}" viewBox="0 {top} {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="{title}" font-family="{xml_text(DEFAULT_FAMILY)}" xml:space="preserve">'
            f'<title>{title}</title><rect{shift} width="{width}" height="{height}" fill="#ffffff"/>'
            + "".join(canvas.elements) + "</svg>")
