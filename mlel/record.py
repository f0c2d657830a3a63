"""``from mlel.record import experiment``: record a measured block of your own code.
The code lives in :mod:`mlel.experiment.record`; this name stays for the documented command and imports."""
from mlel.experiment.record import experiment

__all__ = ["experiment"]
