from mlel.base.environment import backend_name, cpu_short_name, environment_key, gpu_short_name


def test_known_and_general_short_names():
    assert gpu_short_name("NVIDIA A100-SXM4-40GB") == "A100"
    assert gpu_short_name("Quadro RTX 5000") == "RTX 5000"
    assert gpu_short_name("NVIDIA GeForce RTX 3090") == "RTX 3090"
    assert gpu_short_name("Tesla V100-SXM2-16GB") == "V100"
    assert gpu_short_name("NVIDIA H100 80GB HBM3") == "H100"
    assert gpu_short_name("NVIDIA H200") == "H200"
    assert cpu_short_name("Intel(R) Xeon(R) W-2155 CPU @ 3.30GHz") == "Xeon(R) W-2155"
    assert cpu_short_name("AMD EPYC 7742 64-Core Processor") == "EPYC 7742"
    assert cpu_short_name("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz") == "Core(TM) i7-8650U"
    assert cpu_short_name("AMD Ryzen 9 5950X 16-Core Processor") == "Ryzen 9 5950X"
    assert cpu_short_name("") == "unknown CPU"


def test_backend_names_and_versions():
    reqs = ["# 3.11", "torch==2.14.1", "tensorflow-cpu==2.21.0", "onnxruntime==1.32.0"]
    assert backend_name("torch", reqs) == "PyTorch 2.14.1"
    assert backend_name("tensorflow", reqs) == "TensorFlow 2.21.0"
    assert backend_name("onnx_torch", reqs) == "ONNX PT Export 1.32.0"
    assert backend_name("onnx_tensorflow", ["onnxruntime-gpu==1.10.0"]) == "ONNX TF Export 1.10.0"


def test_environment_key_counts_gpus():
    gpus = {str(i): {"Name": "NVIDIA A100-SXM4-40GB"} for i in range(8)}
    assert environment_key({"GPU": gpus}, "pytorch", ["torch==1.10.2+cu113"]) == "A100 x8 - PyTorch 1.10.2+cu113"
    assert environment_key({"GPU": {}, "Processor": "AMD EPYC 7742 64-Core Processor"}, "tensorflow",
                           []) == "EPYC 7742 - TensorFlow"


def test_an_unknown_backend_names_its_environment_as_it_is():
    """Naming passes unknown backends through (running them is what raises: tests/test_names.py)."""
    assert backend_name("MXNet", ["mxnet==1.9.1"]) == "MXNet 1.9.1"
    assert environment_key({"GPU": {}, "Processor": "AMD EPYC 7742 64-Core Processor"}, "jax", []) == "EPYC 7742 - jax"
