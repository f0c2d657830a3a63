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
_NOT_ASCII_ALNUM = re.compile(r"[^A-Za-z0-9]")
_NOT_FILE_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")
_EDGES = "._-"  # never at either end of a file name: hidden files, "..", trailing dots
_SEPARATORS = ("_", "-")
MAX_NAME_CHARS = 120  # a name made from a model name: far below any file system's 255 bytes


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


def file_safe_name(text: str, fallback: str = "file", *, sep: str = "_", limit: int = MAX_NAME_CHARS,
                   alnum_only: bool = False) -> str:
    """The one file-name sanitizer: a name that stays inside its folder on every file system.

    Runs of characters other than ASCII letters, digits, ``.``, ``_`` and ``-`` (so ``/``, ``\\``,
    NUL, other control characters, spaces, non-ASCII) become one ``sep`` (``_`` or ``-``); runs of
    ``sep`` and of dots collapse to one (never ``..``); leading and trailing ``._-`` go (no hidden
    files); at most ``limit`` characters; ``fallback`` where nothing is left. ``alnum_only``: every
    character but an ASCII letter or digit becomes one ``sep``, one for one, nothing collapsed (the
    2022 paper's figure names, ``A100_x8___PyTorch_1_10_2``)."""
    if sep not in _SEPARATORS:
        raise ValueError(f"sep must be one of {_SEPARATORS}, got {sep!r}")
    if alnum_only:
        name = _NOT_ASCII_ALNUM.sub(sep, str(text))
    else:
        name = _NOT_FILE_SAFE.sub(sep, str(text))
        name = _DOTS.sub(".", re.sub(re.escape(sep) + "{2,}", sep, name))
    return name.strip(_EDGES)[:max(1, limit)].rstrip(_EDGES) or fallback
