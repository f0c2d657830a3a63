"""The QR code: which page it links, and its modules as rectangles (drawn as vectors by render)."""
from __future__ import annotations

from functools import lru_cache

import qrcode
from qrcode.constants import ERROR_CORRECT_M

from mlel.base.names import normalise_model_name

PROJECT_URL = "https://github.com/tmplxz/ml-energy-efficiency"

# Normalised model-name prefix -> the paper that introduced the architecture. Order matters where
# one prefix starts another (resnext before resnet, inceptionresnet before inception).
PAPERS: tuple[tuple[str, str], ...] = (
    ("resnext", "https://arxiv.org/abs/1611.05431"),
    ("resnet", "https://arxiv.org/abs/1512.03385"),
    ("vgg", "https://arxiv.org/abs/1409.1556"),
    ("densenet", "https://arxiv.org/abs/1608.06993"),
    ("efficientnet", "https://arxiv.org/abs/1905.11946"),
    ("mobilenetv2", "https://arxiv.org/abs/1801.04381"),
    ("mobilenetv3", "https://arxiv.org/abs/1905.02244"),
    ("regnet", "https://arxiv.org/abs/2003.13678"),
    ("inceptionresnet", "https://arxiv.org/abs/1602.07261"),
    ("inception", "https://arxiv.org/abs/1512.00567"),
    ("xception", "https://arxiv.org/abs/1610.02357"),
    ("nasnet", "https://arxiv.org/abs/1707.07012"),
    ("quicknet", "https://arxiv.org/abs/2011.09398"),  # Larq Compute Engine, which introduced QuickNet
)


def paper_link(model: str) -> str | None:
    """The paper of a known architecture, else None."""
    name = normalise_model_name(model)
    return next((url for prefix, url in PAPERS if name.startswith(prefix)), None)


def label_link(model: str) -> str:
    """What the label's QR code opens: the model's paper, or the project page for other models."""
    return paper_link(model) or PROJECT_URL


@lru_cache(maxsize=256)  # few distinct links; encoding one costs a few ms of pure Python
def qr_runs(text: str) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """(modules per side, dark runs as (row, first column, length)), rows counted from the top.

    Horizontal runs instead of single modules: about a third as many rectangles to draw.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    runs = []
    for row, line in enumerate(matrix):
        column = 0
        while column < len(line):
            if line[column]:
                start = column
                while column < len(line) and line[column]:
                    column += 1
                runs.append((row, start, column - start))
            else:
                column += 1
    return len(matrix), tuple(runs)
