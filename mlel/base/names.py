"""Names: the one home of model-name normalisation, backend aliases and file-safe names.

Backends have two rules, on purpose:

- naming (environment keys, merged logs): ``backend_key`` maps a known alias to its 2022 name and
  passes an unknown one through (lowercased), so imported or 2022 logs of other frameworks keep
  their own backend;
- running (infer.py, train.py, sweeps): ``runnable_backend`` accepts only the backends this project
  can run and raises ``UnknownBackend`` (a ``UsageError``) listing them.
"""
from __future__ import annotations

import re

from mlel.base.errors import UsageError

# 2022 backend names (what config.json records), in the order the CLIs list them
BACKEND_NAMES = ("pytorch", "tensorflow", "onnx_pytorch", "onnx_tensorflow")
BACKEND_ALIASES = {"torch": "pytorch", "tf": "tensorflow", "onnx_torch": "onnx_pytorch",
                   "onnx_tf": "onnx_tensorflow"}
# every spelling infer.py/train.py accept: the short alias first, then the 2022 name
BACKEND_CHOICES = ("torch", "pytorch", "tensorflow", "tf", "onnx_torch", "onnx_pytorch",
                   "onnx_tensorflow", "onnx_tf")

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_NOT_FILE_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class UnknownBackend(UsageError):
    """A backend to run that this project does not have; the message lists the known ones."""


def normalise_model_name(name: str) -> str:
    """Compare model names case- and separator-insensitively: ``ResNet-50``, ``resnet_50`` and
    ``ResNet50`` all give ``resnet50``."""
    return _NOT_ALNUM.sub("", name.lower())


def backend_key(name: str) -> str:
    """``torch`` -> ``pytorch``; an unknown backend passes through (stripped, lowercased,
    ``-`` as ``_``) so that logs of other frameworks keep their own name."""
    key = name.strip().lower().replace("-", "_")
    return BACKEND_ALIASES.get(key, key)


def runnable_backend(name: str) -> str:
    """The 2022 name of a backend this project can run; ``UnknownBackend`` listing the choices."""
    key = backend_key(name)
    if key not in BACKEND_NAMES:
        raise UnknownBackend(f"unknown backend {name!r}; valid choices: {', '.join(BACKEND_CHOICES)}")
    return key


def file_safe_name(text: str, fallback: str = "file") -> str:
    """A file-name stem from any text: runs of characters other than letters, digits, ``.``,
    ``_`` and ``-`` become one ``_``; leading/trailing ``._-`` are dropped (no hidden files, no
    ``..``); ``fallback`` where nothing is left."""
    return _NOT_FILE_SAFE.sub("_", text).strip("._-") or fallback
