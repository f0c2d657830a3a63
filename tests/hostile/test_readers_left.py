"""The last readers of issue 27 (through mlel.base.io's one reader), merge's SIGINT, and names that
the paper's figures must draw as typed, not as mathtext.

A reader that would hang on a FIFO or read /dev/zero without end is run in a child process with a
timeout: a regression fails the test instead of hanging the suite."""
from __future__ import annotations

import copy
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlel.base import io as base_io
from mlel.monitoring import summary
from mlel.monitoring import series
from mlel.monitoring.series import MonitoringFileError
from mlel.runlog import merge, validation

REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_S = 60


def _child(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; a hang or an endless read fails the test, named."""
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              cwd=REPO, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still reading after {CHILD_TIMEOUT_S} s: the reader waited on a FIFO or read without end")


def _hostile(folder: Path, name: str, kind: str) -> Path:
    path = folder / name
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    return path


# --- 1. read_platform ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, named", [("fifo", "a FIFO"), ("zero", "a character device")])
def test_read_platform_refuses_a_fifo_or_dev_zero_by_name(tmp_path, kind, named):
    path = _hostile(tmp_path, "infer_2024_01_01_10_00_00.json", kind)
    done = _child(f"""
        from mlel.base.io import FileRefused
        from mlel.runlog.logs import read_platform
        try:
            read_platform({str(path)!r})
        except FileRefused as error:
            print("refused:", error)
        """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: infer_2024_01_01_10_00_00.json: ") and named in done.stdout


def test_read_platform_still_reads_a_merged_log(reference_dir):
    from mlel.runlog.logs import read_platform

    first = sorted(reference_dir.glob("*.json"))[0]
    assert read_platform(first).cpu


# --- 2. the monitoring-series reader ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["monitoring_pynvml.json", "monitoring_pynvml.jsonl"])
@pytest.mark.parametrize("kind, named", [("fifo", "a FIFO"), ("zero", "a character device")])
def test_read_series_refuses_a_fifo_or_dev_zero_by_name(tmp_path, name, kind, named):
    _hostile(tmp_path, name, kind)
    done = _child(f"""
        from mlel.monitoring.summary import read_series, summarize_file, MonitoringFileError
        for read in (read_series, summarize_file):
            try:
                print("read:", read({str(tmp_path / "monitoring_pynvml.json")!r}))
            except MonitoringFileError as error:
                print("refused:", error)
        """)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"refused: {name}: ") and named in line for line in lines), lines


def test_read_series_names_the_size_cap(tmp_path, monkeypatch):
    path = tmp_path / "monitoring_pynvml.json"
    path.write_text(json.dumps({"0": {"timestamp": list(range(1000))}}))
    monkeypatch.setattr(series, "MAX_SERIES_BYTES", 1000)  # the one series reader is series.read_series
    with pytest.raises(MonitoringFileError, match=r"monitoring_pynvml.json: larger than the size cap of 1,000"):
        summary.read_series(path)


def test_read_series_names_a_json_nested_past_the_depth_cap(tmp_path):
    path = tmp_path / "monitoring_pynvml.json"
    path.write_text('{"0": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(MonitoringFileError, match=r"monitoring_pynvml.json: .*depth cap of 64"):
        summary.read_series(path)


def test_the_series_cap_holds_a_day_at_a_tenth_of_a_second():
    """864,000 samples of eight NVML GPUs as the monitor writes them (JSON lines) fit the cap."""
    import orjson

    device = {"power_usage": 312.123, "energy": 123456.789, "temperature": 71, "util.gpu": 99,
              "util.memory": 45, "memory.used": 81234567168, "memory.free": 4234567168}
    line = orjson.dumps({"timestamp": 1712345678901.234, **{str(i): device for i in range(8)}}) + b"\n"
    assert 864_000 * len(line) < summary.MAX_SERIES_BYTES
    assert summary.MAX_SERIES_BYTES > base_io.MAX_FILE_BYTES  # io's default stays for every other file


def test_read_series_reads_a_series_over_64_mib(tmp_path):
    lines = tmp_path / "monitoring_pynvml.jsonl"
    sample = b'{"timestamp": %d, "0": {"power_usage": 100.0}}\n'
    with open(lines, "wb") as handle:
        handle.write(b'{"_meta": {"power_keys": ["power_usage"]}}\n')
        handle.write(b"".join(sample % (1_700_000_000_000 + 100 * i) for i in range(1_500_000)))
    assert lines.stat().st_size > base_io.MAX_FILE_BYTES
    series = summary.read_series(tmp_path / "monitoring_pynvml.json")
    assert len(series["0"]["timestamp"]) == 1_500_000


# --- 3. the merged-log decoder's depth rule is io's ---------------------------------------------------

def test_parse_json_uses_the_one_depth_rule():
    assert validation.MAX_DEPTH == base_io.MAX_JSON_DEPTH
    assert not hasattr(validation, "_depth_exceeds")  # no second copy of the scan
    deep = b'{"x": NaN, "y": ' + b"[" * 100 + b"]" * 100 + b"}"  # NaN: the fast parsers refuse it
    with pytest.raises(ValueError, match="depth cap of 64 levels"):
        validation.parse_json(deep)
    shallow = b'{"x": NaN, "y": ' + b"[" * 60 + b"]" * 60 + b"}"
    assert math.isnan(validation.parse_json(shallow)["x"])  # 60 levels: under the cap, read


# --- 4. merge on SIGINT -------------------------------------------------------------------------------

def _quick_runs(runs: Path, count: int) -> None:
    for i in range(count):
        folder = runs / f"infer_2024_01_01_10_{i // 60:02d}_{i % 60:02d}"
        folder.mkdir(parents=True)
        files = {"config.json": {"model": "ResNet101", "backend": "pytorch", "infer_model": "ResNet101"},
                 "execution_platform.json": {"Processor": "Intel(R) Xeon(R) W-2155 CPU @ 3.30GHz", "GPU": {}},
                 "validation_results.json": {"start": 1.0, "end": 2.0,
                                             "model": {"params": 1, "flops": 1, "fsize": 1},
                                             "metrics": {"accuracy": 0.7, "n_samples": 10}}}
        for file, content in files.items():
            (folder / file).write_text(json.dumps(content))


@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted (SIGINT)"),
                                             (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_merge_script_stops_on_a_signal_mid_write_with_one_line(tmp_path, sig, code, word):
    """The signal arrives while a log is being published: the log is finished or removed, then
    merge_results.py exits with one line, no traceback and no temp file."""
    runs, out = tmp_path / "runs", tmp_path / "out"
    _quick_runs(runs, 3)
    done = _child(f"""
        import os, runpy, sys
        real_link = os.link
        def link(*args, **kwargs):  # the first publish: the signal arrives inside the write
            os.link = real_link
            os.kill(os.getpid(), {int(sig)})
            return real_link(*args, **kwargs)
        os.link = link
        sys.argv = ["merge_results.py", "-d", {str(runs)!r}, "--output-dir", {str(out)!r}]
        runpy.run_path("merge_results.py", run_name="__main__")
        """)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert word in done.stderr
    left = [p.name for p in out.iterdir()]
    assert not [name for name in left if name.endswith((".tmp", ".pending"))], left
    for name in left:  # what was published is whole
        json.loads((out / name).read_text())


def test_merge_main_returns_130_on_keyboard_interrupt(tmp_path, monkeypatch, capsys):
    runs = tmp_path / "runs"
    _quick_runs(runs, 1)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(merge, "merge_directory", interrupted)
    try:
        code = merge.main(["-d", str(runs), "--output-dir", str(tmp_path / "out")])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped merge.main: a traceback, not one line")
    assert code == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted (SIGINT)" in err


# --- 5. names in the paper's figures are drawn as typed -----------------------------------------------

MATH_NAMES = ["$\\frac{1}{0}$", "cost $5", "$\\notacommand{x}$", "a$b$c\\$d"]


@pytest.fixture(scope="module")
def inference(reference_dir):
    from mlel.paper import outputs

    return [s for s in outputs.rate_for_paper(reference_dir)[0] if s["task"] == "inference"]


def _shown(text) -> str:
    """What matplotlib draws for a Text: not mathtext, and the string as displayed."""
    from matplotlib import cbook

    raw = text.get_text()
    assert not cbook.is_math_text(raw), raw
    return raw.replace("\\$", "$")


def _renamed(rated: list[dict]) -> list[dict]:
    out = copy.deepcopy(rated)
    env = out[0]["environment"]
    mine = [s for s in out if s["environment"] == env][:len(MATH_NAMES)]
    for summary_, name in zip(mine, MATH_NAMES):
        summary_["entry"] = summary_["model"] = name
    for s in out:
        if s["environment"] == env:
            s["environment"] = "$\\gpu$ " + env
    return [s for s in out if s["environment"].startswith("$")]


def test_index_scatter_draws_names_and_title_as_typed(inference):
    import matplotlib.pyplot as plt
    from mlel.paper.figures import index_scatter

    rated = _renamed(inference)
    fig = index_scatter(rated, "inference_power_draw", "top1_val", rated[0]["boundaries"],
                        title="inference: $\\bad$ env", labels={"top1_val": "Top-1 $x$"})
    fig.savefig(__import__("io").BytesIO(), format="png")
    ax = fig.axes[0]
    assert _shown(ax.title) == "inference: $\\bad$ env"
    assert _shown(ax.yaxis.label) == "Top-1 $x$ (index)"
    drawn = {_shown(t) for t in ax.texts if not t.get_text().isdigit()}  # numbers: keys to the caption
    assert drawn and drawn <= {s["model"] for s in rated}
    assert drawn & set(MATH_NAMES)
    plt.close(fig)


def test_parameters_vs_runtime_and_histogram_draw_environments_as_typed(inference):
    import matplotlib.pyplot as plt
    from mlel.paper.figures import parameters_vs_runtime
    from mlel.paper.outputs import rating_histogram

    rated = _renamed(inference)
    fig = parameters_vs_runtime(rated, rated[0]["boundaries"], "ResNet101", {"parameters": "$M$"})
    fig.savefig(__import__("io").BytesIO(), format="png")
    ax = fig.axes[0]
    assert _shown(ax.title) == rated[0]["environment"]
    assert _shown(ax.xaxis.label) == "Parameters [$M$]"
    assert {_shown(t) for t in ax.texts} & set(MATH_NAMES)
    plt.close(fig)
    fig = rating_histogram(rated, "inference")
    fig.savefig(__import__("io").BytesIO(), format="png")
    labels = [_shown(t) for t in fig.axes[0].get_yticklabels()]
    assert any(label.startswith("$\\gpu$ ") for label in labels), labels
    plt.close(fig)
