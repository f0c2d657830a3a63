"""What does measuring cost? infer.py's samples/s against a bare loop of the same backend, model,
batch size and input, per backend. Goal: ratio >= 0.97.

    .venv/bin/python bench/harness_overhead.py [--model MobileNetV3Small] [--batch-size 32]
        [--n-batches 20] [--repeats 3] [--backends torch tensorflow onnx_torch onnx_tensorflow]

infer.py's figure is ``n_samples / (end - start)`` of its validation_results.json: the measured
block, with power monitoring, progress bar and metric code running. The bare loop is the framework
alone, written here without mlel: build the model (random weights), make one random input batch,
warm up, time ``n_batches`` forward passes (torch: inference_mode; TensorFlow: a tf.function;
onnxruntime: session.run on the framework's own export). Both run in fresh processes, alternately,
``repeats`` times, both with the same fixed glibc malloc thresholds (``--malloc default`` turns
that off): by default glibc maps and unmaps large activations per batch or not depending on what
the process allocated before, and that page-fault churn (seen as system time) made a fresh bare
loop up to 30 % slower than infer.py, an allocator artefact that says nothing about the harness.
The ratio compares the best runs (as timeit does: on a shared machine the
best run is the one least disturbed by others); the medians and the spread are reported too.
Writes bench/out/harness_overhead.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BACKENDS = ("torch", "tensorflow", "onnx_torch", "onnx_tensorflow")


# the bare loops (run in a child process: `harness_overhead.py --bare BACKEND ...`) -----------------
def _raw(batch, size):
    """Random images as infer.py's synthetic data: RGB values 0..255, NHWC float32."""
    import numpy as np
    return np.random.default_rng(0).integers(0, 256, (batch, size, size, 3)).astype(np.float32)


def _torch_input(batch, size):
    import numpy as np
    mean, std = np.array([0.485, 0.456, 0.406]) * 255, np.array([0.229, 0.224, 0.225]) * 255
    return np.ascontiguousarray(((_raw(batch, size) - mean) / std).transpose(0, 3, 1, 2), dtype=np.float32)


def _keras_input(model_name, batch, size):
    import importlib
    import keras
    module = importlib.import_module(getattr(keras.applications, model_name).__module__)
    return module.preprocess_input(_raw(batch, size))


def bare_torch(model_name, size, batch, n, warmup):
    import torch
    import torchvision
    from mlel.backends.models import lookup
    model = torchvision.models.get_model(lookup(model_name).torch, weights=None).eval()
    x = torch.from_numpy(_torch_input(batch, size))
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        start = time.perf_counter()
        for _ in range(n):
            model(x)
        return time.perf_counter() - start


def bare_tensorflow(model_name, size, batch, n, warmup):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf
    from mlel.backends.models import lookup
    model = getattr(keras.applications, lookup(model_name).keras)(weights=None, input_shape=(size, size, 3))
    forward = tf.function(lambda x: model(x, training=False),
                          input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
    x = tf.constant(_keras_input(lookup(model_name).keras, batch, size))
    for _ in range(warmup):
        forward(x).numpy()
    start = time.perf_counter()
    for _ in range(n):
        forward(x).numpy()
    return time.perf_counter() - start


def _ort_loop(path, x, n, warmup):
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for _ in range(warmup):
        session.run(None, {name: x})
    start = time.perf_counter()
    for _ in range(n):
        session.run(None, {name: x})
    return time.perf_counter() - start


def bare_onnx_torch(model_name, size, batch, n, warmup):
    import numpy as np
    import torch
    import torchvision
    from mlel.backends.models import lookup
    model = torchvision.models.get_model(lookup(model_name).torch, weights=None).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        torch.onnx.export(model, (torch.zeros(1, 3, size, size),), str(path), input_names=["input"],
                          opset_version=17, dynamo=False, dynamic_axes={"input": {0: "batch"}})
        return _ort_loop(path, _torch_input(batch, size), n, warmup)


def bare_onnx_tensorflow(model_name, size, batch, n, warmup):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import logging
    import keras
    import numpy as np
    import tensorflow as tf
    import tf2onnx
    from mlel.backends.models import lookup
    logging.getLogger("tf2onnx").setLevel(logging.CRITICAL)
    model = getattr(keras.applications, lookup(model_name).keras)(weights=None, input_shape=(size, size, 3))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        spec = (tf.TensorSpec((None, size, size, 3), tf.float32, name="input"),)
        tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=str(path))
        x = np.asarray(_keras_input(lookup(model_name).keras, batch, size), dtype=np.float32)
        return _ort_loop(path, x, n, warmup)


# the comparison ----------------------------------------------------------------------------------
# glibc: big blocks from the heap and no trimming, in both processes alike
FIXED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(2 ** 30), "MALLOC_TRIM_THRESHOLD_": str(2 ** 32)}


def child_env(args, **extra) -> dict:
    env = {**os.environ, **extra}
    if args.malloc == "fixed":
        env.update(FIXED_MALLOC)
    return env


def harness_rate(args, backend, out: Path) -> float:
    before = set(out.glob("infer_*"))
    cmd = [sys.executable, str(REPO / "infer.py"), "--model", args.model, "--backend", backend,
           "--dataset", "synthetic", "--batch-size", str(args.batch_size), "--n-batches", str(args.n_batches),
           "--warmup", str(args.warmup), "--output-dir", str(out)]
    if args.input_size:
        cmd += ["--input-size", str(args.input_size)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=child_env(args))
    if proc.returncode != 0:
        raise RuntimeError(f"infer.py failed ({proc.returncode}): {proc.stderr[-2000:]}")
    (folder,) = set(out.glob("infer_*")) - before
    res = json.loads((folder / "validation_results.json").read_text())
    return res["metrics"]["n_samples"] / (res["end"] - res["start"])


def bare_rate(args, backend, size: int) -> float:
    cmd = [sys.executable, __file__, "--bare", backend, "--model", args.model, "--batch-size",
           str(args.batch_size), "--n-batches", str(args.n_batches), "--warmup", str(args.warmup),
           "--input-size", str(size)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                          env=child_env(args, PYTHONPATH=str(REPO)))
    if proc.returncode != 0:
        raise RuntimeError(f"bare loop failed: {proc.stderr[-2000:]}")
    seconds = float(proc.stdout.strip().splitlines()[-1])
    return args.n_batches * args.batch_size / seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="MobileNetV3Small")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n-batches", type=int, default=20)
    p.add_argument("--input-size", type=int, default=None, help="default: the model's native size")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    p.add_argument("--malloc", choices=("fixed", "default"), default="fixed",
                   help="glibc malloc thresholds of both processes (see above; default: fixed)")
    p.add_argument("--bare", choices=BACKENDS, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.bare:
        fn = globals()[f"bare_{args.bare}"]
        print(fn(args.model, args.input_size, args.batch_size, args.n_batches, args.warmup))
        return 0

    from mlel.backends.models import lookup
    size = args.input_size or lookup(args.model).input_size
    out_dir = REPO / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"model": args.model, "batch_size": args.batch_size, "n_batches": args.n_batches,
              "input_size": size, "repeats": args.repeats, "cpus": os.cpu_count(),
              "malloc": FIXED_MALLOC if args.malloc == "fixed" else "default", "backends": {}}
    print(f"{args.model} {size}px, batch {args.batch_size}, {args.n_batches} batches, {args.repeats} repeats")
    print(f"{'backend':<16} {'infer.py best [samples/s]':>26} {'bare loop best [samples/s]':>26} {'ratio':>7}")
    with tempfile.TemporaryDirectory(prefix="mlel-bench-") as tmp:
        for backend in args.backends:
            harness, bare = [], []
            for _ in range(args.repeats):  # alternate, so drifts in machine load hit both alike
                bare.append(bare_rate(args, backend, size))
                harness.append(harness_rate(args, backend, Path(tmp)))
            h, b = max(harness), max(bare)
            report["backends"][backend] = {"infer_py": harness, "bare": bare, "ratio": h / b,
                                           "ratio_of_medians": statistics.median(harness) / statistics.median(bare)}
            print(f"{backend:<16} {h:>10.1f} (median {statistics.median(harness):.0f}) "
                  f"{b:>10.1f} (median {statistics.median(bare):.0f}) {h / b:>7.3f}", flush=True)
    (out_dir / "harness_overhead.json").write_text(json.dumps(report, indent=2))
    print(f"written: {out_dir / 'harness_overhead.json'} (goal: ratio >= 0.97)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
