"""Issue 26: the paper script rewrites only what changed and says which files those are; unchanged
input gives the same bytes (figures included), so a second run leaves the committed folder alone."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from mlel.paper.outputs import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def onnx_logs(tmp_path_factory) -> Path:
    """Our own ONNX runs (3 seeds of 5 models): tables, error bars, labels, small enough to draw fast."""
    source = tmp_path_factory.mktemp("onnx")
    for log in sorted((REPO / "results").glob("infer_*_onnx_pytorch_seed*.json")):
        shutil.copy(log, source / log.name)
    assert len(list(source.iterdir())) >= 6
    return source


def _run(source: Path, out: Path) -> str:
    import contextlib
    import io

    report = io.StringIO()
    with contextlib.redirect_stdout(report), contextlib.redirect_stderr(io.StringIO()):
        assert main(["--directory", str(source), "--output-dir", str(out)]) == 0
    return report.getvalue()


@pytest.fixture(scope="module")
def first(onnx_logs, tmp_path_factory) -> tuple[Path, str]:
    """The paper of our ONNX runs written into a new folder, and what the command said."""
    out = tmp_path_factory.mktemp("paper")
    return out, _run(onnx_logs, out)


def _stamps(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out.iterdir()}


def test_a_second_run_changes_nothing_and_says_so(onnx_logs, first):
    out, report = first
    files = sorted(p.name for p in out.iterdir())
    assert re.search(rf"^{len(files)} changed: ", report, re.M), report  # a new folder: every file is new
    assert "indexing-results.tex" in report and "scatter_inference_" in report
    stamps = _stamps(out)
    contents = {name: (out / name).read_bytes() for name in files}

    second = _run(onnx_logs, out)
    assert re.search(rf"^0 changed; {len(files)} unchanged in ", second, re.M), second
    assert _stamps(out) == stamps, "an unchanged file was rewritten"
    assert {name: (out / name).read_bytes() for name in files} == contents  # PNG and PDF bytes are stable


def test_only_the_changed_files_are_named(onnx_logs, first, tmp_path):
    out = tmp_path / "paper"
    shutil.copytree(first[0], out)
    total = len(list(out.iterdir()))
    (out / "indexing-results.tex").write_text("edited by hand\n")
    png = next(out.glob("scatter_inference_*.png"))
    png.write_bytes(png.read_bytes()[:-10])
    stamps = _stamps(out)
    report = _run(onnx_logs, out)
    assert re.search(rf"^2 changed: indexing-results.tex, {re.escape(png.name)}; {total - 2} unchanged in ",
                     report, re.M), report
    assert (out / "indexing-results.tex").read_text().startswith(r"\begin{tabular}")
    assert {n for n, stamp in _stamps(out).items() if stamp != stamps[n]} == {"indexing-results.tex", png.name}
