"""Importers: other tools' measurements as ``mlee-result/1`` records (:mod:`mlel.results`).

Python API (each returns an :class:`ImportReport` with ``records`` and ``problems``; write them with
:func:`write_records`, which is idempotent):

- :func:`import_mlenergy` — ML.ENERGY leaderboard data (``tasks/<task>.json``, ``index.json``);
- :func:`import_codecarbon` — CodeCarbon's ``emissions.csv``;
- :func:`import_aienergyscore` — Hugging Face AI Energy Score leaderboard tables (one CSV per task);
- :func:`import_mlflow` — MLflow runs (mlruns folder, tracking URI, or a ``search_runs()`` CSV);
- :func:`import_csv` — any CSV with a :class:`TableMapping`.

Modules are imported lazily so ``python -m mlel.importers mlenergy`` never loads mlflow.
"""
from __future__ import annotations

from mlel.importers.common import ImportReport, WriteSummary, write_records

_LAZY = {"import_mlenergy": "mlenergy", "import_codecarbon": "codecarbon",
         "import_aienergyscore": "aienergyscore", "import_mlflow": "mlflow_runs",
         "import_csv": "table", "TableMapping": "table", "ColumnMap": "table"}

__all__ = ["ImportReport", "WriteSummary", "write_records", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"mlel.importers.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'mlel.importers' has no attribute {name!r}")
