"""ONNX Runtime backends: exports match their framework; graph FLOP count; trained-model loads."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from onnx import TensorProto, helper  # noqa: E402

from mlel.backends import BackendError, get_backend  # noqa: E402
from mlel.backends.onnx import count_macs  # noqa: E402


def raw(n=4, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype(np.float32)


def test_count_macs_of_a_hand_built_graph():
    # conv 3->8, 3x3, 16x16 output; then a 8*16*16 -> 10 matmul; batch symbolic
    w = helper.make_tensor("w", TensorProto.FLOAT, [8, 3, 3, 3], np.zeros(8 * 27, np.float32))
    m = helper.make_tensor("m", TensorProto.FLOAT, [2048, 10], np.zeros(20480, np.float32))
    shape = helper.make_tensor("s", TensorProto.INT64, [2], np.array([-1, 2048], np.int64))
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Reshape", ["c", "s"], ["r"]),
         helper.make_node("MatMul", ["r", "m"], ["y"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])], [w, m, shape])
    macs = count_macs(helper.make_model(graph))
    assert macs == 8 * 16 * 16 * 27 + 2048 * 10


def test_torch_export_matches_torch():
    t = get_backend("torch")(device="cpu")
    t.seed(0)
    spec = t.resolve_model("mobilenet_v3_small")
    t.build(spec, 10, 64)
    o = get_backend("onnx_torch")(device="cpu")
    assert o.name == "onnx_pytorch" and not o.can_train
    o.seed(0)
    o.build(spec, 10, 64)
    x = raw(3, 64)
    np.testing.assert_allclose(o.predict(o.prepare(x)), t.predict(t.prepare(x)), rtol=1e-4, atol=1e-4)
    stats, tstats = o.stats(), t.stats()
    assert stats.params == tstats.params                     # the network's count, BatchNorm included
    assert stats.flops == pytest.approx(tstats.flops, rel=0.05)  # the graph count agrees with torch
    assert stats.fsize == o.model_file.stat().st_size and o.model_file.suffix == ".onnx"


def test_tensorflow_export_matches_keras():
    pytest.importorskip("tf2onnx")
    k = get_backend("tensorflow")(device="cpu")
    k.seed(0)
    spec = k.resolve_model("MobileNetV3Small")
    k.build(spec, 10, 32)
    o = get_backend("onnx_tensorflow")(device="cpu")
    o.seed(0)
    o.build(spec, 10, 32)
    x = raw(3)
    np.testing.assert_allclose(o.predict(o.prepare(x)), k.predict(k.prepare(x)), atol=1e-5)
    assert o.stats().params == k.stats().params


def test_trained_torch_model_is_exported_and_read_only(tmp_path):
    t = get_backend("torch")(device="cpu")
    spec = t.resolve_model("resnet18")
    t.build(spec, 10, 32)
    path = t.save(tmp_path)
    o = get_backend("onnx_pytorch")(device="cpu")
    o.load(path, spec, 10, 32)
    x = raw(2)
    np.testing.assert_allclose(o.predict(o.prepare(x)), t.predict(t.prepare(x)), rtol=1e-4, atol=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pth"]  # nothing written beside it


def test_an_onnx_file_as_weights_is_run_as_it_is(tmp_path):
    o = get_backend("onnx_torch")(device="cpu")
    spec = o.resolve_model("resnet18")
    o.build(spec, 10, 32)
    saved = o.save(tmp_path)
    again = get_backend("onnx_torch")(device="cpu")
    assert again.build(spec, 10, 32, weights=str(saved)) == str(saved)
    x = raw(2)
    np.testing.assert_allclose(again.predict(again.prepare(x)), o.predict(o.prepare(x)), atol=1e-6)


def test_cuda_without_the_cuda_provider_fails_clearly():
    import onnxruntime as ort
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(BackendError, match="onnxruntime-gpu"):
            get_backend("onnx_torch")(device="cuda")


def test_size_and_save_include_external_weights(tmp_path):
    # a graph whose weights live beside it (as the exporters write large models): both count
    from mlel.backends.onnx import onnx_files
    m = helper.make_tensor("m", TensorProto.FLOAT, [256, 10], np.ones(2560, np.float32).tobytes(), raw=True)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "m"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 256])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])], [m])
    model = helper.make_model(graph)
    source = tmp_path / "src"
    source.mkdir()
    onnx.save_model(model, str(source / "net.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    files = onnx_files(source / "net.onnx")
    assert [f.name for f in files] == ["net.onnx", "weights.bin"]
    assert (source / "weights.bin").stat().st_size >= 2560 * 4

    b = get_backend("onnx_torch")(device="cpu")
    b._open(source / "net.onnx")
    assert b.stats().fsize == sum(f.stat().st_size for f in files)
    (tmp_path / "out").mkdir()
    saved = b.save(tmp_path / "out")
    assert saved.name == "model.onnx" and (saved.parent / "weights.bin").is_file()
    x = np.ones((2, 256), np.float32)
    copy = get_backend("onnx_torch")(device="cpu")
    copy._open(saved)
    np.testing.assert_allclose(copy.predict(x), np.full((2, 10), 256.0))
