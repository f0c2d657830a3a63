"""create_paper_results.py on the 2022 logs: tables hold the figures of the method (SPEC §4–§5)."""
import shutil
import subprocess
import sys

import pytest

from matplotlib.colors import to_hex

from mlel.paper.outputs import format_index, index_background, index_scatter, table_value, tex
from mlel.ratings import RATING_COLORS
from mlel.tasks import default_boundaries


def test_formatting():
    assert table_value("inference_power_draw", 0.85894234) == "0.859"
    assert table_value("parameters", 44.707176) == "44.7"
    assert table_value("top1_val", None) == "n.a."
    assert format_index(1.27626) == "1.28"
    assert tex("a_b & 50%") == r"a\_b \& 50\%"


A100_TF = "A100 x8 - TensorFlow 2.8.0"


@pytest.fixture(scope="module")
def tables_dir(reference_dir, tmp_path_factory):
    """The tables of all 232 logs (rating and tables only: figures are tested on a subset)."""
    from mlel.paper.outputs import DEFAULT_MODELS, rate_for_paper, write_tables

    out = tmp_path_factory.mktemp("tables")
    rated, _, runs = rate_for_paper(reference_dir, "ResNet101")
    write_tables(reference_dir, runs, rated, DEFAULT_MODELS, out)
    return out


@pytest.fixture(scope="module")
def paper_dir(reference_dir, tmp_path_factory, repo_root):
    """create_paper_results.py end to end on the logs of one environment (47 logs: both tasks)."""
    from mlel.runlog.logs import load_logs

    source = tmp_path_factory.mktemp("a100_tf")
    runs, _ = load_logs(reference_dir)
    for run in runs:
        if run.environment == A100_TF:
            shutil.copy(reference_dir / run.file, source / run.file)
    out = tmp_path_factory.mktemp("paper")
    result = subprocess.run([sys.executable, "create_paper_results.py", "--directory", str(source),
                             "--output-dir", str(out)], capture_output=True, text=True, cwd=repo_root)
    assert result.returncode == 0, result.stderr
    return out


def _hex(letter: str) -> str:
    """A letter's colour as the table's \\cellcolor names it (the palette's, tests/test_palette.py)."""
    return RATING_COLORS[letter].lstrip("#")


def test_indexing_table_holds_hand_computed_figures(tables_dir):
    table = (tables_dir / "indexing-results.tex").read_text()
    rows = {tuple(line.split(" & ")[:2]): line for line in table.splitlines() if " & " in line}
    # ResNet101, A100 x8 TF (infer_2022_03_03_17_21_20.json): 42947.117 Ws / 50,000; 78.927 s / 50,000
    ref = rows[("A100 x8 - TensorFlow 2.8.0", "ResNet101")]
    c, d, b = (_hex(letter) for letter in "CDB")
    assert ref.split(" & ")[2:] == [
        "0.859", rf"\cellcolor[HTML]{{{c}}}1.00", "1.579", rf"\cellcolor[HTML]{{{c}}}1.00",
        "44.7", rf"\cellcolor[HTML]{{{d}}}1.00", "0.718", rf"\cellcolor[HTML]{{{c}}}1.00 \\"]
    # EfficientNetB0 (infer_2022_03_03_17_30_03.json): 33650.799 Ws / 50,000 = 0.673, index 1.28 -> B
    eff = rows[("A100 x8 - TensorFlow 2.8.0", "EfficientNetB0")].split(" & ")
    assert eff[2:4] == ["0.673", rf"\cellcolor[HTML]{{{b}}}1.28"]
    assert eff[6:8] == ["5.3", rf"\cellcolor[HTML]{{{b}}}8.39"]  # index == b0 exactly: B, not A
    assert eff[8:10] == ["0.681", rf"\cellcolor[HTML]{{{d}}}0.95 \\"]
    assert len(rows) == 2 + 16  # two header rows + 8 environments x 2 models


def test_exec_envs_rows_and_own_frameworks(tables_dir):
    envs = (tables_dir / "exec-envs.tex").read_text()
    assert r"A100 x8 - TensorFlow 2.8.0 & AMD EPYC 7742 64-Core Processor & 8 x NVIDIA A100-SXM4-40GB" in envs
    assert envs.count(r"\\") == 9  # header + 8 environments
    assert "& 26 & 21 \\\\" in envs  # A100 TF: 26 inference and 21 training runs
    assert r"\begin{tabularx}{\linewidth}" in envs and r"\end{tabularx}" in envs  # wraps to the page
    rows = {line.split(" & ")[0]: line.split(" & ")[4] for line in envs.splitlines()
            if line.count(" & ") == 6 and not line.startswith("Environment")}
    assert len(rows) == 8
    for env, framework in rows.items():
        if "ONNX" in env:
            assert framework.startswith("onnxruntime 1.10.0") and "torch" not in framework \
                and "tensorflow" not in framework, env
        elif "PyTorch" in env:
            assert framework.startswith("torch 1.10.2") and "tensorflow" not in framework, env
        else:
            assert framework == "tensorflow " + env.rsplit(" ", 1)[1], env


def test_figures_of_one_environment(paper_dir):
    for name in ("parameters_vs_runtime", "ratings_inference", "ratings_training",
                 "scatter_inference_A100_x8___TensorFlow_2_8_0", "scatter_training_A100_x8___TensorFlow_2_8_0",
                 "label_EfficientNetB0_A100_x8___TensorFlow_2_8_0"):
        for suffix in (".pdf", ".png"):
            assert (paper_dir / f"{name}{suffix}").stat().st_size > 1000, name


def test_figures_say_when_energy_is_estimated():
    from mlel.paper.outputs import _shown_environment
    estimated = {"energy": {"estimated": True}}
    measured = {"energy": {"estimated": False}}
    assert _shown_environment("EPYC - PyTorch 2.14.1", [measured, estimated]) == \
        "EPYC - PyTorch 2.14.1 (energy estimated)"
    assert _shown_environment("A100 x8 - TensorFlow 2.8.0", [measured]) == "A100 x8 - TensorFlow 2.8.0"


def test_index_background_runs_from_e_to_a():
    bounds = default_boundaries()
    x, y = bounds["inference_power_draw"], bounds["top1_val"]
    cells = index_background(x, y, [0.3, 2.5], [0.9, 1.05])
    assert len(cells) == 25
    xs = sorted({c.x0 for c in cells})
    assert xs[1:] == sorted(x)  # the band edges are the boundaries
    row = sorted((c for c in cells if c.y0 == min(c.y0 for c in cells)), key=lambda c: c.x0)
    # bottom row: y is E. Equal weights: the cumulative weight is exactly 0.5 at x's rating, so the
    # optimistic median is the mean of (x, E) rounded down: E, D (3.5), D (3), C (2.5), C (2)
    assert [c.rating for c in row] == ["E", "D", "D", "C", "C"]
    best = index_background(x, y, [0.3, 2.5], [0.9, 1.05], mode="best")
    diagonal = sorted({(c.x0, c.y0): c.rating for c in best}.items())
    assert [r for (x0, y0), r in diagonal if x0 == xs[-1]] == ["A"] * 5  # best of (A, anything)
    top_right = max(cells, key=lambda c: (c.x0, c.y0))
    assert top_right.rating == "A" and min(cells, key=lambda c: (c.x0, c.y0)).rating == "E"


def test_index_scatter_draws_the_bands_in_rating_colours():
    bounds = default_boundaries()
    summaries = [{"model": m, "compound": c, "metrics": {"inference_power_draw": {"index": xi},
                                                         "top1_val": {"index": yi}}}
                 for m, c, xi, yi in (("Slow", "E", 0.4, 0.92), ("Fast", "A", 2.2, 1.03))]
    fig = index_scatter(summaries, "inference_power_draw", "top1_val", bounds)
    patches = sorted(fig.axes[0].patches, key=lambda r: (r.get_x(), r.get_y()))
    assert len(patches) == 25
    assert to_hex(patches[0].get_facecolor()) == RATING_COLORS["E"].lower()
    assert to_hex(patches[-1].get_facecolor()) == RATING_COLORS["A"].lower()
    points = [c.get_offsets()[0].tolist() for c in fig.axes[0].collections]
    assert points == [[0.4, 0.92], [2.2, 1.03]]


def test_rating_histogram_counts_compound_ratings_per_environment():
    from mlel.paper.outputs import rating_histogram
    from mlel.ratings import RATINGS

    rated = [{"task": "inference", "environment": env, "compound": letter, "energy": {"estimated": False}}
             for env, letters in (("Env 1", "AABE"), ("Env 2", "CCC")) for letter in letters]
    fig = rating_histogram(rated, "inference")
    bars = fig.axes[0].patches  # RATINGS in order, one bar per environment each
    widths = {(RATINGS[i // 2], ("Env 1", "Env 2")[i % 2]): bar.get_width() for i, bar in enumerate(bars)}
    assert widths[("A", "Env 1")] == 2 and widths[("B", "Env 1")] == 1 and widths[("E", "Env 1")] == 1
    assert widths[("C", "Env 2")] == 3 and widths[("C", "Env 1")] == 0
    assert to_hex(bars[0].get_facecolor()) == RATING_COLORS["A"].lower()
    assert to_hex(bars[-1].get_facecolor()) == RATING_COLORS["E"].lower()


def test_an_environment_lists_only_its_own_framework():
    from collections import Counter

    from mlel.runlog.logs import PlatformInfo
    from mlel.paper.outputs import exec_envs_table

    packages = {"tensorflow-cpu": "2.21.0", "torch": "2.14.1", "torchvision": "0.29.1", "onnxruntime": "1.32.0"}
    platforms = {env: PlatformInfo(env, "AMD EPYC", (), "3.11.7", packages)
                 for env in ("EPYC - TensorFlow 2.21.0", "EPYC - PyTorch 2.14.1", "EPYC - ONNX PT Export 1.32.0")}
    backends = {"EPYC - TensorFlow 2.21.0": "tensorflow", "EPYC - PyTorch 2.14.1": "pytorch",
                "EPYC - ONNX PT Export 1.32.0": "onnx_pytorch"}
    table = exec_envs_table(platforms, {env: Counter(inference=1) for env in platforms}, backends)
    rows = {line.split(" & ")[0]: line.split(" & ")[4] for line in table.splitlines() if "EPYC - " in line}
    assert rows == {"EPYC - TensorFlow 2.21.0": "tensorflow-cpu 2.21.0",
                    "EPYC - PyTorch 2.14.1": "torch 2.14.1, torchvision 0.29.1",
                    "EPYC - ONNX PT Export 1.32.0": "onnxruntime 1.32.0"}


def test_rating_histogram_counts_not_graded_entries_in_grey():
    from mlel.paper.outputs import NOT_GRADED_COLOR, rating_histogram

    rated = [{"task": "inference", "environment": "Env", "compound": letter, "energy": {}} for letter in ("A", None, None)]
    bars = rating_histogram(rated, "inference").axes[0].patches
    assert len(bars) == 6 and bars[-1].get_width() == 2 and to_hex(bars[-1].get_facecolor()) == NOT_GRADED_COLOR.lower()
    assert bars[0].get_width() == 1
