"""mlel.base.names: one model-name normaliser, one backend-alias table (two rules), one file-safe name."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

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
    from mlel.backends import BACKENDS, CHOICES
    assert set(BACKENDS) == set(BACKEND_NAMES) == set(environment.BACKENDS)
    assert set(BACKEND_ALIASES.values()) <= set(BACKEND_NAMES)
    assert {runnable_backend(choice) for choice in CHOICES} == set(BACKEND_NAMES)
    assert not hasattr(environment, "canonical_backend")  # one name per rule: backend_key, runnable_backend


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


HOSTILE = ["..", "../..", "a/../../b", "..\\..\\windows", "nul\x00byte", "tab\tnew\nline\x7f", ".env",
           "a" * 1000, "é/ü/日本", "-rf", "x" * 119 + "..", "con..", " . ", "a..b"]


def _is_safe(name: str, limit: int) -> bool:
    return (0 < len(name) <= limit and ".." not in name and name[0] not in "._-" and name[-1] not in "._-"
            and all(c.isascii() and (c.isalnum() or c in "._-") for c in name))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_names_stay_inside_their_folder(text):
    for sep in ("_", "-"):
        assert _is_safe(file_safe_name(text, "x", sep=sep), 120)
    assert _is_safe(file_safe_name(text, "x", limit=8), 8)


@given(st.text(max_size=400), st.sampled_from(["_", "-"]), st.integers(1, 300))
def test_no_text_makes_an_unsafe_name(text, sep, limit):
    name = file_safe_name(text, "fallback", sep=sep, limit=limit)
    assert name == "fallback" or _is_safe(name, limit)
    assert sep * 2 not in name


def test_the_callers_make_safe_names_from_hostile_records():
    """Imported records and ELEx downloads: a hostile model name gives a name inside the folder."""
    from mlel.elex import actions
    from mlel.elex import layout as ids
    from mlel.results import Environment, PropertyValue, Provenance, ResultRecord, record_file_name

    hostile = "../../etc/passwd\x00" + "..\\" * 100
    record = ResultRecord(task="lm-arena-chat", model=hostile, environment=Environment("..", "\x01/"),
                          properties={"energy_per_token": PropertyValue(0.7, "J/token", "reported")},
                          provenance=Provenance("t", "f.json", 0))
    stem, digest = record_file_name(record).removesuffix(".json").rsplit("__", 1)
    assert all(_is_safe(part, 80) for part in stem.split("__")) and len(digest) == 10
    download = actions.download(None, {"model": hostile, "task": "inference", "environment": ".."},
                                ids.GET_SUMMARY)
    assert _is_safe(download["filename"].removesuffix(".json"), 120)
