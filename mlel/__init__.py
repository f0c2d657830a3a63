"""MLEE: measure, rate and label the energy efficiency of machine learning models.

The public API of the rating core::

    from mlel import rate_directory, RatingOptions
    report = rate_directory("results", RatingOptions(reference="ResNet101"))
    for summary in report.rated: print(summary["model"], summary["compound"])
"""
from importlib import import_module

__version__ = "0.1.0"

# Imported on first use, so `python -m mlel.ratings` and light tools do not load everything.
_EXPORTS = {
    "Problem": "mlel.runlog.logs", "RunLog": "mlel.runlog.logs", "load_logs": "mlel.runlog.logs", "read_log": "mlel.runlog.logs",
    "METRICS": "mlel.runlog.metrics", "task_metrics": "mlel.runlog.metrics",
    "COMPOUND_MODES": "mlel.ratings", "RatingOptions": "mlel.ratings", "aggregate_runs": "mlel.ratings",
    "calibrate_boundaries": "mlel.ratings", "compound_rating": "mlel.ratings",
    "index_value": "mlel.ratings", "rate_results": "mlel.ratings", "rate_runs": "mlel.ratings",
    "rating_from_index": "mlel.ratings",
    "RatingReport": "mlel.ratings.report", "rate_directory": "mlel.ratings.report",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mlel' has no attribute {name!r}")
