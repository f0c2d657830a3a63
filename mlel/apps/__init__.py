"""The top layer: the infer/train command lines, sweeps, MLflow tracking and the demo. Nothing in
mlel imports this package."""
