"""``python -m mlel.train`` (also ``mlee-train`` and ``train.py``): train a model under power
monitoring -> one run folder with the trained model. See ``--help``."""
from mlel.apps.experiment_cli import build_train_parser, train_console, train_main

main = train_main
__all__ = ["build_train_parser", "main", "train_console"]

if __name__ == "__main__":
    train_console()
