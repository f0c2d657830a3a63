"""Hostile merged logs built from real 2022 logs: each case breaks one field in one way.

``hostile_cases()`` yields ``(name, path, raw_bytes)``: ``path`` is the JSON path that a reader must
name (``None`` where the whole file is broken, e.g. truncated JSON). Shared by the validation tests
and the tests that run every reader over a directory of such logs.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterator

from hypothesis import strategies as st

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFERENCE_RESULTS = SHARED / "reference" / "mlee-2022" / "results"
INFERENCE_LOG = REFERENCE_RESULTS / "infer_2022_03_03_17_16_59.json"  # VGG16, A100 x8, TensorFlow


TRAINING_LOG = REFERENCE_RESULTS / "train_2022_03_10_16_29_33.json"  # GPU and RAPL sources both


def training_log_path() -> Path:
    return TRAINING_LOG


def load(path: Path = INFERENCE_LOG) -> dict:
    return json.loads(path.read_text())


def _set(log: dict, path: str, value: Any) -> dict:
    log = copy.deepcopy(log)
    *parents, last = path.split(".")
    node = log
    for part in parents:
        node = node[part]
    node[last] = value
    return log


def _delete(log: dict, path: str) -> dict:
    log = copy.deepcopy(log)
    *parents, last = path.split(".")
    node = log
    for part in parents:
        node = node[part]
    del node[last]
    return log


_DEEP = "__deeply_nested__"


def _nested(log: dict, path: str, depth: int) -> bytes:
    """The log with ``path`` set to a list nested ``depth`` deep (built as text: json recurses)."""
    return _dump(_set(log, path, _DEEP)).replace(f'"{_DEEP}"'.encode(), b"[" * depth + b"1" + b"]" * depth)


_BAD_NUMBERS = {"string": "12", "negative": -5.0, "nan": float("nan"), "infinity": float("inf"),
                "huge-int": 10 ** 400, "bool": True, "list": [1], "object": {"v": 1}}

# (path, bad values) for the fields the readers use; each pair is one case.
_VALUE_CASES = {
    "validation.monitoring_pynvml.total.total_power_draw": _BAD_NUMBERS,
    "validation.results.model.params": _BAD_NUMBERS,
    "validation.results.model.flops": {"string": "x", "negative": -1.0, "nan": float("nan")},
    "validation.results.model.fsize": {"negative": -1, "infinity": float("inf")},
    "validation.results.metrics.accuracy": {"percentage": 67.05, "negative": -0.1, "string": "0.7",
                                            "nan": float("nan")},
    "validation.results.metrics.top_5_accuracy": {"percentage": 86.7},
    "validation.results.metrics.n_samples": {"zero": 0, "negative": -5, "fraction": 2.5,
                                             "infinity": float("inf"), "string": "100", "huge-int": 10 ** 400},
    "validation.duration": {"zero": 0.0, "negative": -3.0, "string": "58", "nan": float("nan")},
}
_STRUCTURE_CASES = {
    "config": {"list": [1, 2], "string": "cfg", "null": None, "number": 3},
    "execution_platform": {"list": [], "string": "linux", "number": 1},
    "requirements": {"string": "torch==1", "non-string": ["a==1", 5], "nested": [["x"]]},
    "config.model": {"number": 5, "list": ["VGG16"]},
    "config.backend": {"number": 1, "null": None},
    "execution_platform.GPU": {"list": ["A100"], "string": "A100"},
    "execution_platform.GPU.0": {"string": "A100", "number": 0},
    "execution_platform.Processor": {"number": 7, "list": []},
    "validation.results": {"list": [], "string": "ok"},
    "validation.results.model": {"list": [], "string": "m"},
    "validation.results.metrics": {"list": [1], "string": "m"},
    "validation.monitoring_pynvml": {"list": [1], "string": "x"},
    "validation.monitoring_pynvml.total": {"list": [], "string": "t"},
}


def _dump(log: Any) -> bytes:
    return json.dumps(log).encode()  # NaN/Infinity written as the 2022 tool's json did


def hostile_cases() -> Iterator[tuple[str, str | None, bytes]]:
    log = load()
    for path, values in {**_VALUE_CASES, **_STRUCTURE_CASES}.items():
        for kind, value in values.items():
            yield f"{path}={kind}", path, _dump(_set(log, path, value))
    for path in ("config", "execution_platform", "config.backend", "validation.results"):
        yield f"{path}=deleted", path, _dump(_delete(log, path))
    yield "config.model+infer_model=deleted", "config.model", _dump(
        _delete(_delete(log, "config.model"), "config.infer_model"))
    yield "deep-2000", None, _nested(log, "config.extra", 2000)
    yield "deep-2000-requirements", None, _nested(log, "requirements", 2000)
    yield "deep-500-requirements", "requirements", _nested(log, "requirements", 500)
    yield "top-list", "$", b"[1, 2, 3]"
    yield "top-string", "$", b'"merged"'
    yield "top-empty-object", "config", b"{}"
    yield "truncated", None, _dump(log)[:500]
    yield "empty-file", None, b""
    yield "binary", None, bytes(range(256))
    training = load(training_log_path())
    for path, value in (("results.history.loss", {"epochs": 3}), ("duration", "long"),
                        ("config.full_epochs", -90), ("monitoring_pynvml.total.total_power_draw", -1e308)):
        yield f"training:{path}", path, _dump(_set(training, path, value))


def write_cases(directory: Path) -> dict[str, str | None]:
    """Write every hostile case to ``directory`` as ``<n>_<name>.json``; return file -> path named."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = {}
    for number, (name, path, raw) in enumerate(hostile_cases()):
        file = f"{number:03d}_{''.join(c if c.isalnum() else '_' for c in name)[:60]}.json"
        (directory / file).write_bytes(raw)
        expected[file] = path
    return expected


# ------------------------------------------------------------------------------------------------
# generated mutations of real logs (one field replaced, deleted or retyped; sometimes truncated)

_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10 ** 30), max_value=10 ** 400),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            yield from _paths(value, (*prefix, index))


_BASE_LOGS = [load(INFERENCE_LOG), load(training_log_path())] if REFERENCE_RESULTS.is_dir() else [{}, {}]
_ALL_PATHS = [[p for p in _paths(log) if p] for log in _BASE_LOGS]


@st.composite
def mutated_logs(draw):
    which = draw(st.integers(0, 1))
    log = copy.deepcopy(_BASE_LOGS[which])
    path = draw(st.sampled_from(_ALL_PATHS[which]))
    parent = log
    for part in path[:-1]:
        parent = parent[part]
    action = draw(st.sampled_from(["replace", "delete", "retype"]))
    if action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "retype":
        old = parent[path[-1]]
        parent[path[-1]] = list(old.values()) if isinstance(old, dict) else {"v": old}
    else:
        parent[path[-1]] = draw(_LEAVES)
    raw = json.dumps(log).encode()
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
        raw = raw[: draw(st.integers(0, len(raw) - 1))]  # truncation
    return raw
