"""mlel.base.names: one model-name normaliser, one backend-alias table (two rules), one file-safe name."""
from __future__ import annotations

import pytest

from mlel.base.errors import EXIT_USAGE, UsageError
from mlel.base.names import (BACKEND_ALIASES, BACKEND_CHOICES, BACKEND_NAMES, UnknownBackend, backend_key,
                        file_safe_name, normalise_model_name, runnable_backend)


@pytest.mark.parametrize("spelling", ["ResNet50", "resnet50", "ResNet-50", "resnet_50", "RESNET 50",
                                      "ResNet.50"])
def test_model_names_compare_ignoring_case_and_separators(spelling):
    assert normalise_model_name(spelling) == "resnet50"


def test_distinct_models_stay_distinct():
    assert normalise_model_name("MobileNetV3Small") != normalise_model_name("MobileNetV3Large")
    assert normalise_model_name("mobilenet_v3_small") == normalise_model_name("MobileNetV3Small")


@pytest.mark.parametrize("alias,name", [("torch", "pytorch"), ("PyTorch", "pytorch"), ("TF", "tensorflow"),
                                        ("onnx-torch", "onnx_pytorch"), (" onnx_tf ", "onnx_tensorflow")])
def test_known_aliases_map_to_the_2022_names(alias, name):
    assert backend_key(alias) == name
    assert runnable_backend(alias) == name


def test_naming_passes_an_unknown_backend_through():
    """Environment naming of a 2022 or imported log keeps a backend we cannot run."""
    assert backend_key("MXNet") == "mxnet"
    assert backend_key("jax-flax") == "jax_flax"


def test_running_an_unknown_backend_is_a_usage_error_listing_the_known_ones():
    with pytest.raises(UnknownBackend) as caught:
        runnable_backend("mxnet")
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == EXIT_USAGE
    for choice in BACKEND_CHOICES:
        assert choice in str(caught.value)


def test_one_alias_table_serves_runner_and_environment():
    from mlel.base import environment
    from mlel.backends import BACKENDS, CHOICES, canonical_backend
    assert set(BACKENDS) == set(BACKEND_NAMES) == set(environment.BACKENDS)
    assert set(BACKEND_ALIASES.values()) <= set(BACKEND_NAMES)
    assert {runnable_backend(choice) for choice in CHOICES} == set(BACKEND_NAMES)
    assert canonical_backend is runnable_backend and environment.canonical_backend is backend_key


@pytest.mark.parametrize("text,safe", [
    ("A100 x8 - PyTorch 1.10.2+cu113", "A100_x8_-_PyTorch_1.10.2_cu113"),
    ("ResNet50", "ResNet50"),
    ("../../etc/passwd", "etc_passwd"),          # no way out of the output folder
    (".hidden", "hidden"),
    ("a//b::c", "a_b_c"),
])
def test_file_safe_names(text, safe):
    assert file_safe_name(text) == safe


@pytest.mark.parametrize("text", ["", "...", "///", " "])
def test_file_safe_name_falls_back_when_nothing_is_left(text):
    assert file_safe_name(text, "label") == "label"
