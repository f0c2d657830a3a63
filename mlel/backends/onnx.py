"""ONNX Runtime backends: a model built (or trained) in PyTorch or TensorFlow, exported to ONNX,
run by onnxruntime. ``onnx_pytorch`` exports with torch.onnx, ``onnx_tensorflow`` with tf2onnx.

The exported file lives in a temporary folder for the run (its size is the model's ``fsize``);
a train.py run folder is read, never written to.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from .base import PRETRAINED, RANDOM, Backend, BackendError, file_size

log = logging.getLogger(__name__)


def count_macs(model: onnx.ModelProto) -> float | None:
    """Multiply-accumulates per sample of Conv, Gemm and MatMul nodes, from inferred shapes
    (symbolic dimensions, the batch among them, count as 1)."""
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception as exc:  # a graph onnx cannot infer: FLOPs "n.a." rather than a failed run
        log.info("ONNX shape inference failed, FLOPs not counted: %s", exc)
        return None
    shapes = {}
    for info in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
        dims = info.type.tensor_type.shape.dim
        shapes[info.name] = [d.dim_value if d.HasField("dim_value") else 1 for d in dims]
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    macs = 0.0
    for node in model.graph.node:
        out = shapes.get(node.output[0]) if node.output else None
        if out is None:
            continue
        if node.op_type == "Conv" and len(node.input) > 1 and node.input[1] in shapes:
            macs += float(np.prod(out[1:])) * float(np.prod(shapes[node.input[1]][1:]))
        elif node.op_type in ("Gemm", "MatMul") and node.input[0] in shapes:
            a = shapes[node.input[0]]
            trans_a = any(att.name == "transA" and att.i for att in node.attribute)
            k = a[0] if (node.op_type == "Gemm" and trans_a) else a[-1]
            macs += float(np.prod(out)) * k
    return macs


def onnx_files(path: Path) -> list[Path]:
    """The .onnx file and the external-data files its initialisers name: the exporters move the
    weights out of the graph file for large models, and the model's size is all of them."""
    from onnx.external_data_helper import uses_external_data
    graph = onnx.load(str(path), load_external_data=False).graph
    names = {entry.value for tensor in graph.initializer if uses_external_data(tensor)
             for entry in tensor.external_data if entry.key == "location"}
    return [path, *(path.parent / name for name in sorted(names))]


class OnnxBackend(Backend):
    """Builds with ``source`` (a framework backend on the CPU), exports, runs in onnxruntime."""

    can_train = False

    @classmethod
    def _source(cls) -> type[Backend]:
        """The framework backend that builds the model (imported late: its framework is heavy)."""
        raise NotImplementedError

    def __init__(self, device: str = "auto"):
        super().__init__(device)
        self.source = self._source()(device="cpu")  # export happens on the CPU
        self.session: ort.InferenceSession | None = None
        self._input = None
        self._tmp = None

    @property
    def model_suffix(self):  # noqa: D401 - trained models are saved by the framework
        return self.source.model_suffix

    def resolve_device(self, device: str) -> str:
        available = ort.get_available_providers()
        if device == "auto":
            device = "cuda" if "CUDAExecutionProvider" in available else "cpu"
        if device.startswith("cuda") and "CUDAExecutionProvider" not in available:
            raise BackendError(f"--device cuda: onnxruntime has no CUDAExecutionProvider here "
                               f"(available: {', '.join(available)}); install onnxruntime-gpu or "
                               "use --device cpu")
        return device

    def seed(self, seed: int) -> None:
        self.source.seed(seed)

    @classmethod
    def framework_models(cls):
        return cls._source().framework_models()

    @property
    def framework(self):
        return self.source.framework

    def builder_name(self, spec):
        return self.source.builder_name(spec)

    def own_spec(self, own_name):
        return self.source.own_spec(own_name)

    def native_sizes(self, spec):
        return self.source.native_sizes(spec)

    # models ---------------------------------------------------------------------------------------
    def build(self, spec, num_classes, input_size, weights=RANDOM):
        self._set_model(spec, num_classes, input_size)
        self.source.preprocess_spec = self.preprocess_spec
        if weights not in (RANDOM, PRETRAINED) and str(weights).endswith(".onnx"):
            self._open(Path(weights))  # an ONNX file of this model: run it as it is
            return str(weights)
        loaded = self.source.build(spec, num_classes, input_size, weights)
        self._export_to_temp()
        return loaded

    def load(self, model_file, spec, num_classes, input_size):
        self._set_model(spec, num_classes, input_size)
        self.source.preprocess_spec = self.preprocess_spec
        self.source.load(model_file, spec, num_classes, input_size)
        self._export_to_temp()  # never written into the training run's folder

    def _export_to_temp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="mlel-onnx-")
        path = Path(self._tmp.name) / "model.onnx"
        self.export(path)
        self._open(path)

    def _open(self, path: Path):
        providers = ["CPUExecutionProvider"]
        if self.device.startswith("cuda"):
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:
            raise BackendError(f"onnxruntime cannot open {path}: {exc}") from None
        self._input = self.session.get_inputs()[0].name
        self.model_file = path

    def export(self, path: Path) -> None:
        raise NotImplementedError

    def save(self, folder: Path) -> Path:
        path = Path(folder) / "model.onnx"
        if self.model_file is not None:
            graph, *weights = onnx_files(Path(self.model_file))
            shutil.copyfile(graph, path)
            for file in weights:  # external weights keep the names the graph gives them
                shutil.copyfile(file, Path(folder) / file.relative_to(graph.parent))
        else:
            self.export(path)
        return path

    # work -----------------------------------------------------------------------------------------
    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input: x})[0]

    # statistics -----------------------------------------------------------------------------------
    def count_params(self) -> int:
        if self.source.spec is not None and getattr(self.source, "model", None) is not None:
            return self.source.count_params()  # the network's own count (export folds BatchNorm)
        graph = onnx.load(str(self.model_file)).graph
        return int(sum(np.prod(t.dims) for t in graph.initializer))

    def count_flops(self) -> float | None:
        return count_macs(onnx.load(str(self.model_file)))

    def stats(self):
        from .base import ModelStats
        fsize = sum(file_size(file) for file in onnx_files(Path(self.model_file)))
        return ModelStats(self.count_params(), self.count_flops(), fsize)


class OnnxTorchBackend(OnnxBackend):
    name = "onnx_pytorch"

    @classmethod
    def _source(cls):
        from .torch import TorchBackend
        return TorchBackend

    def prepare(self, x: np.ndarray) -> np.ndarray:
        from .torch import MEAN, STD
        mean = np.asarray(MEAN, np.float32) * 255
        std = np.asarray(STD, np.float32) * 255
        return np.ascontiguousarray(((x - mean) / std).transpose(0, 3, 1, 2), dtype=np.float32)

    def export(self, path: Path) -> None:
        import torch
        model = self.source.model.eval()
        dummy = torch.zeros(1, 3, self.input_size, self.input_size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:  # the TorchScript exporter: fast, and exact for torchvision's models
                torch.onnx.export(model, (dummy,), str(path), input_names=["input"],
                                  output_names=["logits"], opset_version=17, dynamo=False,
                                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
            except Exception as exc:  # where that exporter is gone or fails: torch.export
                log.info("TorchScript ONNX export failed (%s); exporting with torch.export", exc)
                torch.onnx.export(model, (dummy,), str(path), input_names=["input"],
                                  output_names=["logits"], dynamo=True, verbose=False,
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))


class OnnxTensorFlowBackend(OnnxBackend):
    name = "onnx_tensorflow"
    outputs_probabilities = True

    @classmethod
    def _source(cls):
        from .tensorflow import TensorFlowBackend
        return TensorFlowBackend

    def prepare(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.source.preprocess_numpy(x))

    def export(self, path: Path) -> None:
        try:
            import tf2onnx
        except ImportError as exc:
            raise BackendError(f"backend onnx_tensorflow exports with tf2onnx, which is not installed "
                               f"({exc}); install it (pip install tf2onnx) or use --backend "
                               "onnx_pytorch") from None
        import tensorflow as tf
        for name in ("tf2onnx", "tf2onnx.tfonnx", "tf2onnx.optimizer"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        size = self.input_size
        spec = (tf.TensorSpec((None, size, size, 3), tf.float32, name="input"),)
        try:
            tf2onnx.convert.from_keras(self.source.model, input_signature=spec, opset=17,
                                       output_path=str(path))
        except Exception as exc:
            raise BackendError(f"tf2onnx could not export {self.spec.name}: {exc}") from exc
