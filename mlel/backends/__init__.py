"""Backends by name: ``get_backend("torch")(device="cpu")``. Each module imports its framework,
so a backend is imported only when asked for (TensorFlow and PyTorch never load together).

Names (config.json records the 2022 name, first in each row): ``pytorch`` (``torch``),
``tensorflow`` (``tf``), ``onnx_pytorch`` (``onnx_torch``), ``onnx_tensorflow`` (``onnx_tf``).
"""
from __future__ import annotations

from importlib import import_module

from .base import (PRETRAINED, RANDOM, Backend, BackendError, EvalMetrics, ModelStats,
                   UnknownModel)
from .models import MODELS, ModelSpec, lookup

# canonical name -> (module, class)
BACKENDS = {
    "pytorch": ("torch", "TorchBackend"),
    "tensorflow": ("tensorflow", "TensorFlowBackend"),
    "onnx_pytorch": ("onnx", "OnnxTorchBackend"),
    "onnx_tensorflow": ("onnx", "OnnxTensorFlowBackend"),
}
ALIASES = {"torch": "pytorch", "tf": "tensorflow", "onnx_torch": "onnx_pytorch",
           "onnx_tf": "onnx_tensorflow"}
CHOICES = ["torch", "pytorch", "tensorflow", "tf", "onnx_torch", "onnx_pytorch", "onnx_tensorflow",
           "onnx_tf"]


class UnknownBackend(BackendError):
    pass


def canonical_backend(name: str) -> str:
    """``torch`` -> ``pytorch`` (the config.json name); UnknownBackend listing the choices."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in BACKENDS:
        raise UnknownBackend(f"unknown backend {name!r}; valid choices: {', '.join(CHOICES)}")
    return key


def get_backend(name: str) -> type[Backend]:
    """The Backend class of a name or alias (imports its framework now)."""
    module, cls = BACKENDS[canonical_backend(name)]
    try:
        return getattr(import_module(f"{__name__}.{module}"), cls)
    except ImportError as exc:
        raise BackendError(f"backend {name} needs a package that is not installed: {exc}") from exc


__all__ = ["BACKENDS", "CHOICES", "MODELS", "PRETRAINED", "RANDOM", "Backend", "BackendError",
           "EvalMetrics", "ModelSpec", "ModelStats", "UnknownBackend", "UnknownModel",
           "canonical_backend", "get_backend", "lookup"]
