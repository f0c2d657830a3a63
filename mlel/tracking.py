"""``from mlel.tracking import log_run``: a finished run folder -> MLflow.
The code lives in :mod:`mlel.apps.tracking`; this name stays for the documented command and imports."""
from mlel.apps.tracking import log_run

__all__ = ["log_run"]
