"""Names are text (issue 27): markup in a model or environment name reaches ELEx's figures as typed
(never a live link or styled text), control characters reach the terminal table visibly (never an
ANSI escape that recolours it), and LaTeX special text reaches the paper's tables escaped."""
from __future__ import annotations

import json
import re

import pytest

from mlel.base.formatting import visible_text
from mlel.elex import figures, state
from mlel.elex.session import default_settings
from mlel.paper.outputs import indexing_table, tex
from mlel.ratings import RatingOptions
from mlel.ratings.report import rate_directory
from mlel.ratings.table import format_table
from mlel.runlog.logs import load_logs

ENVIRONMENT = "A100 x8 - TensorFlow 2.8.0"
LINK = '<a href="https://evil.example/">MobileNetV2</a>'
GPU = '<b>A100</b><span style="color:red">SXM4</span>'
ANSI_MODEL = "\x1b[31mMobileNetV2\x1b[0m\x00"
ANSI_GPU = "A100\x1b]0;owned\x07 \u202e"
X, Y = "inference_power_draw", "top1_val"
# what plotly renders as markup: a tag, or an entity it would decode
MARKUP = re.compile(r"<(a|b|span|i|sup|sub|em)[\s>]|&(#\d+|#x[0-9a-f]+|[a-z]+);(?<!&lt;)(?<!&gt;)(?<!&amp;)",
                    re.IGNORECASE)


def _renamed_logs(reference_dir, folder, model: str, gpu: str):
    """The inference logs of one 2022 environment, MobileNetV2 renamed ``model`` and every GPU ``gpu``."""
    runs, _ = load_logs(reference_dir)
    for run in runs:
        if run.environment != ENVIRONMENT or run.task != "inference":
            continue
        log = json.loads((reference_dir / run.file).read_text())
        if log["config"].get("model") == "MobileNetV2":
            log["config"]["model"] = log["config"]["infer_model"] = model
        for info in (log["execution_platform"].get("GPU") or {}).values():
            info["Name"] = gpu
        (folder / run.file).write_text(json.dumps(log))
    return folder


@pytest.fixture(scope="module")
def markup_dir(reference_dir, tmp_path_factory):
    return _renamed_logs(reference_dir, tmp_path_factory.mktemp("markup"), LINK, GPU)


@pytest.fixture(scope="module")
def ansi_dir(reference_dir, tmp_path_factory):
    return _renamed_logs(reference_dir, tmp_path_factory.mktemp("ansi"), ANSI_MODEL, ANSI_GPU)


def _texts(value) -> list[str]:
    """Every string in a figure dict (hover texts, legend names, tick texts, titles)."""
    if isinstance(value, dict):
        return [t for item in value.values() for t in _texts(item)]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _texts(item)]
    return [value] if isinstance(value, str) else []


def _rendered_markup(figure: dict) -> list[str]:
    """Strings of ``figure`` in which a name's markup would render (our own <br>, <b>%{text}</b>,
    <span style='font-size…'> and <extra> aside)."""
    found = []
    for text in _texts(figure):
        own = re.sub(r"<br>|</?b>(?=%\{text\}|<br>|$)|<b>(?=%)|<extra></extra>|<span style='[^']*'>|</span>$", "",
                     text)
        own = own.replace("</b><br>", "<br>")
        if MARKUP.search(own) or "evil.example/\">" in text:
            found.append(text)
    return found


def test_markup_in_names_reaches_elex_figures_as_text(markup_dir):
    data = state.ElexData.load(markup_dir)
    settings = default_settings(data)
    rating = state.rate(data, "inference", settings)
    environment = rating.table.environments[0]
    assert "<b>A100</b>" in environment and any(LINK == model for model in rating.table.models)
    scatter = figures.scatter_figure(rating, X, Y, list(rating.table.environments), "index")
    points = [t for t in scatter["data"] if "customdata" in t]
    hover = [text for trace in points for text in trace["text"]]
    assert any(text.startswith("&lt;a href=\"https://evil.example/\"&gt;MobileNetV2&lt;/a&gt; (") for text in hover)
    legend = [t["name"] for t in scatter["data"] if t.get("legendgroup", "").startswith("environment")]
    assert legend and all(name.startswith("&lt;b&gt;A100&lt;/b&gt;&lt;span style=") for name in legend)
    counts = state.rating_counts(rating, figures.selected_rows(rating, [environment]))
    bars = figures.bar_figure({rating.table.labels[0]: counts[environment]}, rating.level_labels[:-1])
    assert bars["data"][0]["y"][0].startswith("&lt;b&gt;A100&lt;/b&gt;")  # the axis's tick text
    assert _rendered_markup(scatter) == [] and _rendered_markup(bars) == []
    real = figures.scatter_figure(rating, X, Y, [environment], "real")
    assert _rendered_markup(real) == []


def test_markup_reason_is_escaped_in_wrapped_hover_text():
    from mlel.elex.entries import plotly_text, wrapped

    assert plotly_text("0.3 s < 2 s") == "0.3 s < 2 s"  # no markup: shown as it is
    assert plotly_text("A&amp;B <i>x</i>") == "A&amp;amp;B &lt;i&gt;x&lt;/i&gt;"
    lines = wrapped(f"no reference in {GPU} and more words so that the reason wraps", 20)
    assert "<span" not in lines and "&lt;span" in lines and "<br>" in lines


def test_control_characters_in_names_are_visible_in_the_terminal_table(ansi_dir):
    report = rate_directory(ansi_dir, RatingOptions())
    table = format_table(report.records)
    assert "\x1b" not in table and "\x00" not in table and "\x07" not in table and "\u202e" not in table
    assert "\\x1b[31mMobileNetV2\\x1b[0m\\x00" in table
    assert "A100\\x1b]0;owned\\x07 \\u202e" in table
    assert visible_text("ResNet-50 ü 漢 x") == "ResNet-50 ü 漢 x"


@pytest.mark.parametrize("name", ["[0.5em] A100", "[ResNet]", "x]y["])
def test_brackets_after_a_row_end_cannot_become_latex_arguments(name):
    row = {"task": "inference", "environment": name, "model": name, "metrics": {}}
    table = indexing_table([row], None, ("inference_power_draw",))
    assert "\\\\\n[" not in table and "\\midrule\n[" not in table
    assert "[" not in table.split("\\midrule\n", 1)[1].split(" & ", 1)[0].replace("{[}", "")


def test_nul_and_blank_lines_never_reach_the_tex_file():
    escaped = tex("A100\x00 x8\n\nPyTorch\r\n\x1b[31m")
    assert "\x00" not in escaped and "\n" not in escaped and "\r" not in escaped and "\x1b" not in escaped
    assert escaped.startswith("A100") and "PyTorch" in escaped
    assert tex("a_b & 50%") == r"a\_b \& 50\%"
