"""A TrueType stand-in for label text outside WinAnsi: DejaVu Sans, where installed."""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from reportlab.pdfbase.pdfmetrics import registerFont
from reportlab.pdfbase.ttfonts import TTFont

from mlel.labels import layout as L

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core


def _font_dirs() -> tuple[Path, ...]:
    dirs = [FONT_DIR, Path("/usr/share/fonts/TTF"), Path("/usr/local/share/fonts"), Path.home() / ".fonts"]
    spec = importlib.util.find_spec("matplotlib")  # ships DejaVu Sans; found without importing it
    if spec and spec.submodule_search_locations:
        dirs.append(Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf")
    return tuple(dirs)


@lru_cache(maxsize=None)
def unicode_font(font: str, dirs: tuple[Path, ...] | None = None) -> tuple[str, frozenset[int]] | None:
    """A TrueType stand-in (DejaVu Sans) for text outside WinAnsi, registered once per process;
    (font name, code points it covers), or None where no such font is installed."""
    file = "DejaVuSans-Bold.ttf" if font == L.FONT_BOLD else "DejaVuSans.ttf"
    for directory in _font_dirs() if dirs is None else dirs:
        if (directory / file).is_file():
            name = "MLEE-" + file[:-4]
            ttf = TTFont(name, str(directory / file))
            registerFont(ttf)
            return name, frozenset(ttf.face.charToGlyph)
    return None
