"""Beyond energy: calibration and robustness of a classifier's outputs (pure NumPy; issue 28)."""
