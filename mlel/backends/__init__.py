"""Backends by name: ``get_backend("torch")(device="cpu")``. Each module imports its framework,
so a backend is imported only when asked for (TensorFlow and PyTorch never load together).

Names (config.json records the 2022 name, first in each row): ``pytorch`` (``torch``),
``tensorflow`` (``tf``), ``onnx_pytorch`` (``onnx_torch``), ``onnx_tensorflow`` (``onnx_tf``).
"""
from __future__ import annotations

from importlib import import_module

from mlel.base.names import BACKEND_CHOICES, UnknownBackend, runnable_backend

from .base import (PRETRAINED, RANDOM, Backend, BackendError, EvalMetrics, ModelStats,
                   UnknownModel)
from .models import MODELS, ModelSpec, lookup

# 2022 name (mlel.base.names.BACKEND_NAMES) -> (module, class)
BACKENDS = {
    "pytorch": ("torch", "TorchBackend"),
    "tensorflow": ("tensorflow", "TensorFlowBackend"),
    "onnx_pytorch": ("onnx", "OnnxTorchBackend"),
    "onnx_tensorflow": ("onnx", "OnnxTensorFlowBackend"),
}
# 2022 name -> pyproject's extras that install its framework (the hint when one is missing)
EXTRAS = {"pytorch": "torch", "tensorflow": "tensorflow", "onnx_pytorch": "torch,onnx",
          "onnx_tensorflow": "tensorflow,onnx"}
CHOICES = list(BACKEND_CHOICES)  # the aliases live in mlel.base.names (tests check both tables agree)

def get_backend(name: str) -> type[Backend]:
    """The Backend class of a name or alias (imports its framework now)."""
    module, cls = BACKENDS[runnable_backend(name)]
    try:
        return getattr(import_module(f"{__name__}.{module}"), cls)
    except ImportError as exc:
        raise BackendError(f"backend {name} needs a package that is not installed: {exc}; "
                           f"pip install 'mlee[{EXTRAS[runnable_backend(name)]}]'") from exc


__all__ = ["BACKENDS", "CHOICES", "EXTRAS", "MODELS", "PRETRAINED", "RANDOM", "Backend", "BackendError",
           "EvalMetrics", "ModelSpec", "ModelStats", "UnknownBackend", "UnknownModel",
           "get_backend", "lookup", "runnable_backend"]
