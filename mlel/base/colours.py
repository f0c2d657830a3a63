"""Colour arithmetic for readable ratings: WCAG 2 contrast, and the text colour a background needs."""
from __future__ import annotations

BLACK, WHITE = "#000000", "#FFFFFF"


def relative_luminance(hex_code: str) -> float:
    """WCAG 2 relative luminance of an sRGB ``#RRGGBB`` colour (0 black … 1 white)."""
    channels = [int(hex_code.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two colours, 1 … 21 (4.5 is the minimum for body text)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_colour(background: str) -> str:
    """Black or white, whichever contrasts more with ``background``."""
    return BLACK if contrast_ratio(background, BLACK) >= contrast_ratio(background, WHITE) else WHITE
