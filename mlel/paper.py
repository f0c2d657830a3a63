"""The paper's tables (LaTeX) and figures (PDF + PNG) from any directory of merged logs.

Table builders are pure functions returning strings; figure builders return matplotlib figures;
``create_paper_results`` is the I/O edge that loads, rates and writes everything.
"""
from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from mlel import engine
from mlel.logs import PlatformInfo, load_logs, read_platform
from mlel.metrics import METRICS
from mlel.ratings import RATING_COLORS, RATINGS, RatingOptions, rate_runs
from mlel.resources import default_boundaries

DEFAULT_MODELS = ("ResNet101", "EfficientNetB0")
TABLE_METRICS = ("inference_power_draw", "inference_time", "parameters", "top1_val")
LIBRARIES = ("tensorflow", "torch", "onnxruntime", "onnxruntime-gpu", "numpy")
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def tex(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(c, c) for c in str(text))


def table_value(key: str, value: float | None) -> str:
    """Values to 3 decimals, parameters in millions to 1; missing: n.a."""
    if value is None:
        return "n.a."
    return f"{value:.1f}" if key == "parameters" else f"{value:.3f}"


def format_index(index: float | None) -> str:
    return "n.a." if index is None else f"{index:.2f}"


def _hardware_names(info: PlatformInfo) -> tuple[str, str]:
    gpus = Counter(info.gpus)
    gpu = ", ".join(f"{n} x {name}" if n > 1 else name for name, n in gpus.items()) or "none"
    return info.cpu or "unknown", gpu


def exec_envs_table(platforms: Mapping[str, PlatformInfo], counts: Mapping[str, Counter]) -> str:
    """One row per environment: CPU, GPU, libraries with versions, inference and training runs."""
    lines = [r"\begin{tabular}{lllllrr}", r"\toprule",
             r"Environment & CPU & GPU & Python & Libraries & Inference & Training \\", r"\midrule"]
    for env in sorted(platforms):
        info = platforms[env]
        cpu, gpu = _hardware_names(info)
        libs = ", ".join(f"{name} {info.packages[name]}" for name in LIBRARIES if name in info.packages)
        lines.append(" & ".join([tex(env), tex(cpu), tex(gpu), tex(info.python or "n.a."), tex(libs),
                                 str(counts[env]["inference"]), str(counts[env]["training"])]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def indexing_table(rated: Iterable[dict], models: Sequence[str] = DEFAULT_MODELS,
                   metrics: Sequence[str] = TABLE_METRICS) -> str:
    """Per inference environment and model: value and index of each metric, the index cell
    coloured by its rating (needs ``\\usepackage[table]{xcolor}`` and booktabs)."""
    chosen = sorted((s for s in rated if s["task"] == "inference" and s["model"] in models),
                    key=lambda s: (s["environment"], list(models).index(s["model"])))
    head = " & ".join(f"\\multicolumn{{2}}{{c}}{{{tex(METRICS[k].label)} [{tex(METRICS[k].unit)}]}}"
                      for k in metrics)
    lines = [r"\begin{tabular}{ll" + "rr" * len(metrics) + "}", r"\toprule",
             f"Environment & Model & {head} \\\\",
             " & & " + " & ".join("Value & Index" for _ in metrics) + r" \\", r"\midrule"]
    for summary in chosen:
        cells = [tex(summary["environment"]), tex(summary["model"])]
        for key in metrics:
            metric = summary["metrics"][key]
            colour = RATING_COLORS[metric["rating"]].lstrip("#")
            cells += [table_value(key, metric["value"]),
                      f"\\cellcolor[HTML]{{{colour}}}{format_index(metric['index'])}"]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# figures


def _axis_extent(bounds: Sequence[float], values: Sequence[float]) -> tuple[float, float]:
    """An index axis that shows every point and every positive boundary, padded."""
    finite = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    low = min(finite + [b for b in bounds if b > 0]) * 0.8
    high = max(finite + list(bounds)) * 1.2
    return low, high


def index_background(x_bounds: Sequence[float], y_bounds: Sequence[float], xs: Sequence[float],
                     ys: Sequence[float], mode: str = "optimistic median") -> list[engine.Cell]:
    """The rating background of an index scatter: the engine's bands of both axes (E at the low
    end, A at the high end), each cell coloured by the compound of its two ratings (equal weights)."""
    x_extent, y_extent = _axis_extent(x_bounds, xs), _axis_extent(y_bounds, ys)
    x_bands = engine.rating_bands(x_bounds, None, True, *x_extent)
    y_bands = engine.rating_bands(y_bounds, None, True, *y_extent)
    return engine.background_cells(x_bands, y_bands, 1.0, 1.0, mode)


def index_scatter(rated: Sequence[dict], x: str, y: str, boundaries: Mapping[str, Sequence[float]],
                  title: str = "", mode: str = "optimistic median"):
    """Models on the index scale of two metrics over rating-coloured background rectangles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [(s["metrics"][x]["index"], s["metrics"][y]["index"], s) for s in rated
              if s["metrics"][x]["index"] and s["metrics"][y]["index"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    cells = index_background(boundaries[x], boundaries[y], [p[0] for p in points], [p[1] for p in points], mode)
    for cell in cells:
        ax.add_patch(plt.Rectangle((cell.x0, cell.y0), cell.x1 - cell.x0, cell.y1 - cell.y0,
                                   color=RATING_COLORS[cell.rating], alpha=0.35, lw=0))
    for xi, yi, summary in points:
        ax.scatter(xi, yi, color=RATING_COLORS[summary["compound"]], edgecolor="black", s=40, zorder=3)
        ax.annotate(summary["model"], (xi, yi), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlim(min(c.x0 for c in cells), max(c.x1 for c in cells))
    ax.set_ylim(min(c.y0 for c in cells), max(c.y1 for c in cells))
    ax.set_xlabel(f"{METRICS[x].label} (index)")
    ax.set_ylabel(f"{METRICS[y].label} (index)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def value_scatter(rated: Sequence[dict], x: str, y: str, title: str = ""):
    """Real values of two metrics, one colour per environment (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    by_env = defaultdict(list)
    for s in rated:
        xv, yv = s["metrics"][x]["value"], s["metrics"][y]["value"]
        if xv and yv:
            by_env[s["environment"]].append((xv, yv))
    for env, pts in sorted(by_env.items()):
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], label=env, s=18, alpha=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"{METRICS[x].label} [{METRICS[x].unit}]")
    ax.set_ylabel(f"{METRICS[y].label} [{METRICS[y].unit}]")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def _shown_environment(env: str, summaries: Sequence[dict]) -> str:
    """The environment's name, marked where any of its energy figures is an estimate (no sensor)."""
    estimated = any(s.get("energy", {}).get("estimated") for s in summaries)
    return f"{env} (energy estimated)" if estimated else env


def rating_histogram(rated: Sequence[dict], task: str):
    """Stacked bars: how many models of each environment got each compound rating."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = sorted({s["environment"] for s in rated if s["task"] == task})
    counts = {env: Counter(s["compound"] for s in rated if s["task"] == task and s["environment"] == env)
              for env in envs}
    names = [_shown_environment(env, [s for s in rated if s["task"] == task and s["environment"] == env])
             for env in envs]
    fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(envs) + 1.5))
    left = [0] * len(envs)
    for rating in RATINGS:
        widths = [counts[env][rating] for env in envs]
        ax.barh(names, widths, left=left, color=RATING_COLORS[rating], label=rating)
        left = [a + b for a, b in zip(left, widths)]
    ax.set_xlabel(f"{task} models")
    ax.legend(ncol=5, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)  # above the bars
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# the I/O edge


def _save(fig, out: Path, name: str) -> list[Path]:
    import matplotlib.pyplot as plt

    paths = [out / f"{name}.pdf", out / f"{name}.png"]
    fig.savefig(paths[0])
    fig.savefig(paths[1], dpi=150)
    plt.close(fig)
    return paths


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_")


def create_paper_results(directory: str | os.PathLike, output_dir: str | os.PathLike,
                         reference: str = "ResNet101", models: Sequence[str] = DEFAULT_MODELS,
                         label_models: Sequence[str] | None = None) -> tuple[list[Path], list[str]]:
    """Write the tables, figures and labels; returns (written paths, messages about skipped parts)."""
    runs, problems = load_logs(directory)
    messages = [f"skipped {p}" for p in problems]
    rated, warnings = rate_runs(runs, RatingOptions(reference=reference))
    messages += [f"warning: {w}" for w in warnings]
    if not rated:
        raise ValueError(f"nothing could be rated in {directory}")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    platforms, counts = {}, defaultdict(Counter)
    for run in runs:
        counts[run.environment][run.task] += 1
        if run.environment not in platforms:
            platforms[run.environment] = read_platform(Path(directory) / run.file)
    for name, text in (("exec-envs.tex", exec_envs_table(platforms, counts)),
                       ("indexing-results.tex", indexing_table(rated, models))):
        (out / name).write_text(text)
        written.append(out / name)

    bounds = default_boundaries()
    for task, y in (("inference", "inference_power_draw"), ("training", "train_power_draw")):
        for env in sorted({s["environment"] for s in rated if s["task"] == task}):
            subset = [s for s in rated if s["task"] == task and s["environment"] == env]
            title = f"{task}: {_shown_environment(env, subset)} (reference {reference})"
            fig = index_scatter(subset, y, "top1_val", bounds, title=title)
            written += _save(fig, out, f"scatter_{task}_{_safe_name(env)}")
    inference = [s for s in rated if s["task"] == "inference"]
    if inference:
        written += _save(value_scatter(inference, "parameters", "inference_time",
                                       "Parameters vs inference runtime"), out, "parameters_vs_runtime")
    for task in ("inference", "training"):
        if any(s["task"] == task for s in rated):
            written += _save(rating_histogram(rated, task), out, f"ratings_{task}")
    written += _write_labels(rated, out, label_models or models)
    return written, messages


def _write_labels(rated: list[dict], out: Path, models: Sequence[str]) -> list[Path]:
    from mlel.labels import EnergyLabel
    written = []
    for summary in rated:
        if summary["model"] in models and summary["task"] == "inference":
            name = f"label_{_safe_name(summary['model'])}_{_safe_name(summary['environment'])}"
            label = EnergyLabel(summary)
            (out / f"{name}.pdf").write_bytes(label.to_pdf())
            (out / f"{name}.png").write_bytes(label.to_png())
            written += [out / f"{name}.pdf", out / f"{name}.png"]
    return written
