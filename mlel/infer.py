"""``python -m mlel.infer`` (also ``mlee-infer`` and ``infer.py``): measure a model's inference
under power monitoring -> one run folder. See ``--help``."""
from mlel.apps.experiment_cli import build_infer_parser, infer_console, infer_main

main = infer_main
__all__ = ["build_infer_parser", "infer_console", "main"]

if __name__ == "__main__":
    infer_console()
