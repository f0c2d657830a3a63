"""The paper's tables (LaTeX) and figures (PDF + PNG) from any directory of merged logs and result
records: ``python -m mlel.paper`` / ``create_paper_results.py``. :mod:`mlel.paper.outputs` rates and
writes, :mod:`mlel.paper.figures` draws, :mod:`mlel.paper.placement` places names without overlap."""
from mlel.paper.outputs import create_paper_results, main

__all__ = ["create_paper_results", "main"]
