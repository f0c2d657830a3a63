"""ELEx, the Energy Label Exploration app (Dash + plotly). ``create_app`` builds it."""
from __future__ import annotations


def create_app(source, **kwargs):
    """See :func:`mlel.elex.app.create_app` (imported lazily: dash loads only when used)."""
    from mlel.elex.app import create_app as _create_app

    return _create_app(source, **kwargs)


__all__ = ["create_app"]
