"""The paper's tables (LaTeX) and figures (PDF + PNG) from any directory of merged logs and result
records: ``python -m mlel.paper`` / ``create_paper_results.py``. :mod:`mlel.paper.outputs` rates and
writes (only the files whose bytes change: :mod:`mlel.paper.files`), :mod:`mlel.paper.figures`
draws, :mod:`mlel.paper.bars` draws error bars to their end, :mod:`mlel.paper.names` puts the
models' names on a finished plot where :mod:`mlel.paper.placement` finds room for them."""
from mlel.paper.outputs import create_paper_results, main

__all__ = ["create_paper_results", "main"]
