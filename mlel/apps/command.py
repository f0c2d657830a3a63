"""What the user typed to start a command, and the hint when an optional framework is missing.

argparse names the program after ``sys.argv[0]``'s file, so ``python -m mlel.infer`` used to report
errors as ``infer.py: error``; :func:`invoked_as` gives the name the user can type again.
"""
from __future__ import annotations

import importlib.util
import os
import sys

# the extras of pyproject.toml that bring a framework: a missing module -> what to install
EXTRA_OF = {"torch": "torch", "torchvision": "torch", "tensorflow": "tensorflow", "keras": "tensorflow",
            "onnx": "onnx", "onnxruntime": "onnx", "mlflow": "tracking"}


def invoked_as(script: str) -> str:
    """``python -m <module>`` when run as a module, else the started file's name (``mlee-infer``,
    ``infer.py``); ``script`` where neither is known (``python -c``, an embedding program)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return f"python -m {spec.name.removesuffix('.__main__')}"
    started = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return started if started and started != "-c" else script


def missing_modules(*names: str) -> list[str]:
    """The ``names`` that cannot be imported here, found without importing them (torch takes seconds)."""
    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # a blocked or half-installed package
            found = None
        if found is None:
            missing.append(name)
    return missing


def install_hint(module: str) -> str:
    """``pip install 'mlee[torch]'`` for a module one of the extras brings."""
    extra = EXTRA_OF.get(module.split(".")[0])
    return f"pip install 'mlee[{extra}]'" if extra else f"pip install {module.split('.')[0]}"
