#!/usr/bin/env python
"""Measure a model's inference under power monitoring -> one run folder (see --help).
The same tool as ``python -m mlel.infer`` and ``mlee-infer``."""
from mlel.infer import build_infer_parser, infer_console, main

__all__ = ["build_infer_parser", "main"]

if __name__ == "__main__":
    infer_console()
