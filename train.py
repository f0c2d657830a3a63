#!/usr/bin/env python
"""Train a model under power monitoring -> one run folder with the trained model (see --help).
The same tool as ``python -m mlel.train`` and ``mlee-train``."""
from mlel.train import build_train_parser, main, train_console

__all__ = ["build_train_parser", "main"]

if __name__ == "__main__":
    train_console()
