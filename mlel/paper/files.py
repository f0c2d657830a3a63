"""The paper's files written only when their bytes change, so a committed ``paper_results/`` stays
as it is for unchanged input, and the command can say which files changed."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlel.base import io

# matplotlib's savefig options that give the same bytes for the same figure: no creation date in a
# PDF, no version string in either (an upgrade alone would otherwise rewrite every figure)
PDF_OPTIONS = {"metadata": {"CreationDate": None, "Producer": None, "Creator": None}}
PNG_METADATA = {"Software": None}


@dataclass
class Written:
    """Every file the paper wrote or found already holding its bytes, in order."""

    changed: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return self.changed + self.unchanged

    def __iter__(self):  # every path, as the list the paper returned before it told them apart
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.changed) + len(self.unchanged)

    def message(self, folder) -> str:
        """"3 changed: a.png, b.tex, c.pdf; 27 unchanged in paper_results"."""
        names = ", ".join(sorted(p.name for p in self.changed))
        changed = f"{len(self.changed)} changed: {names}" if self.changed else "0 changed"
        return f"{changed}; {len(self.unchanged)} unchanged in {folder}"


def write_if_changed(path: Path, data: bytes, written: Written) -> None:
    """:func:`mlel.base.io.write_if_changed`, noting in ``written`` whether it wrote."""
    (written.changed if io.write_if_changed(path, data) else written.unchanged).append(path)
