"""The paper script, the label tool and ELEx at the edges (issue 27): values no axis can hold are
left out and named while the rest is drawn; planted symlinks are replaced, never written through;
a full disk names the file and leaves no partial one."""
from __future__ import annotations

import copy
import errno
import json
import math
import os

import pytest

from mlel.paper import outputs
from mlel.paper.figures import index_scatter, parameters_vs_runtime, undrawn
from mlel.runlog.logs import load_logs

ENVIRONMENT = "A100 x8 - TensorFlow 2.8.0"
POWER = {"MobileNetV2": 1e-300, "DenseNet121": 1e308, "DenseNet169": 1e-308, "EfficientNetB1": 0.0,
         "EfficientNetB2": -5.0}
PARAMETERS = {"VGG16": 1e300, "VGG19": 5e-324, "Xception": -1e308}
X, Y = "inference_power_draw", "top1_val"


@pytest.fixture(scope="module")
def edge_dir(reference_dir, tmp_path_factory):
    """One environment's inference logs, some with ±1e308, 1e-308, 0 or negative values."""
    folder = tmp_path_factory.mktemp("edges")
    runs, _ = load_logs(reference_dir)
    for run in runs:
        if run.environment != ENVIRONMENT or run.task != "inference":
            continue
        log = json.loads((reference_dir / run.file).read_text())
        model = log["config"]["model"]
        if model in POWER:
            log["validation"]["monitoring_pynvml"]["total"]["total_power_draw"] = POWER[model]
        if model in PARAMETERS:
            log["validation"]["results"]["model"]["params"] = PARAMETERS[model]
        (folder / run.file).write_text(json.dumps(log))
    return folder


@pytest.fixture(scope="module")
def rated(edge_dir):
    return [s for s in outputs.rate_for_paper(edge_dir)[0] if s["task"] == "inference"]


@pytest.mark.parametrize("value", [1e308, -1e308, math.inf, math.nan, -1.0, 0.0, 5e-324, 1e-300, 1e300])
def test_figures_draw_what_is_finite_and_name_the_rest(rated, value):
    hostile = copy.deepcopy(rated)
    hostile[3]["metrics"][X]["index"] = value
    hostile[4]["metrics"]["parameters"]["value"] = value
    fig = index_scatter(hostile, X, Y, hostile[0]["boundaries"])
    assert all(math.isfinite(v) for v in (*fig.axes[0].get_xlim(), *fig.axes[0].get_ylim()))
    parameters_vs_runtime(hostile, hostile[0]["boundaries"], "ResNet101", {})
    import matplotlib.pyplot as plt

    plt.close("all")
    named = undrawn(hostile, X, Y, "index") + undrawn(hostile, "parameters", "inference_time", "value")
    assert any(hostile[3]["model"] in n and repr(value) in n for n in named)
    assert any(hostile[4]["model"] in n and repr(value) in n for n in named)


def test_paper_script_survives_extreme_values_and_names_them(edge_dir, rated, tmp_path, monkeypatch):
    hostile = copy.deepcopy(rated)
    hostile[3]["metrics"][X]["index"] = 1e308  # the rating core's word, whatever it becomes
    real = outputs.rate_for_paper
    monkeypatch.setattr(outputs, "rate_for_paper", lambda *a: (hostile + [s for s in real(*a)[0] if s["task"] != "inference"],
                                                               [], real(*a)[2]))
    written, messages = outputs.create_paper_results(edge_dir, tmp_path)
    names = {p.name for p in written}
    assert {"parameters_vs_runtime.png", "ratings_inference.pdf", "indexing-results.tex"} <= names
    assert any(n.startswith("scatter_inference_") and n.endswith(".png") for n in names)
    assert any(hostile[3]["model"] in m and "1e+308" in m for m in messages)
    assert all(p.stat().st_size > 0 for p in written)


def test_planted_symlinks_are_replaced_not_written_through(edge_dir, tmp_path):
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("keep me")
    planted = ["exec-envs.tex", "indexing-results.tex", "ratings_inference.png", "parameters_vs_runtime.pdf",
               "label_ResNet101_A100_x8___TensorFlow_2_8_0.png"]
    for name in planted:
        (out / name).symlink_to(victim)
    outputs.create_paper_results(edge_dir, out)
    assert victim.read_text() == "keep me"
    for name in planted:
        assert not (out / name).is_symlink() and (out / name).stat().st_size > 0


def test_full_disk_names_the_file_and_leaves_no_partial_one(edge_dir, tmp_path, monkeypatch, capsys):
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[:len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.handle, name)

    def fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        name = os.readlink(f"/proc/self/fd/{fd}")
        return Full(handle) if ".ratings_inference.png." in name else handle

    monkeypatch.setattr(os, "fdopen", fdopen)
    assert outputs.main(["-d", str(edge_dir), "--output-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "ratings_inference.png" in error and os.strerror(errno.ENOSPC) in error
    assert not (tmp_path / "ratings_inference.png").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_elex_and_labels_survive_extreme_values(edge_dir, rated):
    from mlel.elex import figures, state
    from mlel.elex.session import default_settings
    from mlel.labels import EnergyLabel

    data = state.ElexData.load(edge_dir)
    rating = state.rate(data, "inference", default_settings(data))
    for scale in ("index", "real"):
        figure = figures.scatter_figure(rating, X, "parameters", list(rating.table.environments), scale)
        json.dumps(figure, allow_nan=False)  # what the browser gets: no inf, no NaN
        assert all(abs(v) < 200 for axis in ("xaxis", "yaxis") for v in figure["layout"][axis]["range"])
        assert "no axis can hold" in figure["layout"]["title"]["text"]
    for summary in rated:
        if summary["model"] in POWER or summary["model"] in PARAMETERS:
            assert EnergyLabel(summary).to_png().startswith(b"\x89PNG")
