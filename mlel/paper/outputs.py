"""The paper's tables (LaTeX) and figures (PDF + PNG) from any directory of merged logs and result
records: the 2022 tasks as the paper had them, and every other task by its property set.

Table builders are pure functions returning strings; figure builders (``mlel.paper.figures``)
return matplotlib figures; ``create_paper_results`` is the I/O edge that loads, rates and writes.
"""
from __future__ import annotations

import io
import os
from functools import partial
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from mlel.base.formatting import visible_text
from mlel.base.names import backend_key, file_safe_name
from mlel.runlog.logs import PlatformInfo, read_platform
from mlel.runlog.metrics import METRICS, TASKS
from mlel.paper.figures import (PNG_DPI, index_background, index_scatter,  # noqa: F401 - re-exported
                                parameters_vs_runtime, plain, undrawn)
from mlel.paper.files import PDF_OPTIONS, PNG_METADATA, Written, write_if_changed
from mlel.tasks.properties import TRUST_GROUP, PropertySet, load_property_set
from mlel.ratings import RATING_COLORS, RATINGS, RatingOptions
from mlel.ratings.report import rate_directory

DEFAULT_MODELS = ("ResNet101", "EfficientNetB0")
TABLE_METRICS = ("inference_power_draw", "inference_time", "parameters", "top1_val")
LIBRARIES = ("tensorflow", "torch", "onnxruntime", "onnxruntime-gpu")
# file names of figures and tables as the 2022 paper had them: every other character one "_"
_figure_name = partial(file_safe_name, fallback="figure", alnum_only=True)

# "[" and "]" braced: a cell that starts with "[" right after "\\" or "\midrule" would be read as
# their optional argument ("\\[0.5em]") and break the table
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
                "[": "{[}", "]": "{]}"}


def tex(text: str) -> str:
    """``text`` for a LaTeX table cell: special characters escaped, brackets braced, every run of
    white space (a newline, a blank line: a paragraph break inside a cell) one space, and a control
    character (NUL, an ANSI escape) spelled as its escape (``\\x00``), never written raw."""
    shown = visible_text(" ".join(str(text).split()))
    return "".join(_TEX_SPECIAL.get(c, c) for c in shown)


def table_value(key: str, value: float | None) -> str:
    """Values to 3 decimals, parameters in millions to 1; missing: n.a."""
    if value is None:
        return "n.a."
    if key == "parameters":
        return f"{value:.1f}"
    if key not in METRICS and not 1e-3 <= abs(value) < 1e4:  # other tasks' units span decades
        return f"{value:.3g}"
    return f"{value:.3f}"


def format_index(index: float | None) -> str:
    return "n.a." if index is None else f"{index:.2f}"


def _hardware_names(info: PlatformInfo) -> tuple[str, str]:
    gpus = Counter(info.gpus)
    gpu = ", ".join(f"{n} x {name}" if n > 1 else name for name, n in gpus.items()) or "none"
    return info.cpu or "unknown", gpu


def framework_packages(backend: str) -> tuple[str, ...]:
    """The distributions of a backend's framework, as the environment's name takes its version
    (``mlel.base.environment.BACKENDS``: ``tensorflow-cpu`` counts as TensorFlow; ``onnx_pytorch`` runs
    on onnxruntime, not torch); PyTorch adds torchvision, whose models it runs."""
    from mlel.base.environment import BACKENDS

    key = backend_key(backend or "")
    if key not in BACKENDS:
        return ()  # a framework we cannot name: no other framework's version in its row
    return BACKENDS[key][1] + (("torchvision",) if key == "pytorch" else ())


EXEC_ENVS_COLUMNS = (r">{\raggedright\arraybackslash}X >{\raggedright\arraybackslash}X "
                     r">{\raggedright\arraybackslash}X l >{\raggedright\arraybackslash}X r r")


def exec_envs_table(platforms: Mapping[str, PlatformInfo], counts: Mapping[str, Counter],
                    backends: Mapping[str, str] | None = None) -> str:
    """One row per environment: CPU, GPU, Python, its framework with version, inference and
    training runs. A tabularx as wide as the text (``\\usepackage{tabularx,booktabs}``): long
    processor names wrap inside their column instead of running off the page."""
    backends = backends or {}
    lines = [r"% needs \usepackage{booktabs,tabularx}", r"\begin{tabularx}{\linewidth}{" + EXEC_ENVS_COLUMNS + "}",
             r"\toprule",
             r"Environment & CPU & GPU & Python & Framework & Inference & Training \\", r"\midrule"]
    for env in sorted(platforms):
        info = platforms[env]
        cpu, gpu = _hardware_names(info)
        own = framework_packages(backends.get(env, ""))
        libs = ", ".join(f"{name} {info.packages[name]}" for name in own if name in info.packages)
        lines.append(" & ".join([tex(env), tex(cpu), tex(gpu), tex(info.python or "n.a."), tex(libs or "n.a."),
                                 str(counts[env]["inference"]), str(counts[env]["training"])]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabularx}"]
    return "\n".join(lines) + "\n"


def _columns(task: str, metrics: Sequence[str], prop_set: PropertySet | None) -> list[tuple[str, str, str]]:
    """(key, label, unit) of each table column: the 2022 metric table, else the property set."""
    if prop_set is None or task in TASKS:
        return [(k, METRICS[k].label, METRICS[k].unit) for k in metrics]
    return [(k, prop_set[k].name, prop_set[k].unit) for k in metrics]


def _index_cell(metric: Mapping) -> str:
    rating = metric.get("rating")
    shown = format_index(metric.get("index"))
    return f"\\cellcolor[HTML]{{{RATING_COLORS[rating].lstrip('#')}}}{shown}" if rating in RATING_COLORS else shown


def indexing_table(rated: Iterable[dict], models: Sequence[str] | None = DEFAULT_MODELS,
                   metrics: Sequence[str] = TABLE_METRICS, task: str = "inference",
                   prop_set: PropertySet | None = None) -> str:
    """Per environment and model of ``task``: value and index of each metric, the index cell
    coloured by its rating (needs ``\\usepackage[table]{xcolor}`` and booktabs). ``models`` None:
    every entry of the task."""
    of_task = [s for s in rated if s["task"] == task and (models is None or s["model"] in models)]
    order = list(models or ())
    chosen = sorted(of_task, key=lambda s: (s["environment"], order.index(s["model"]) if models else 0,
                                            s.get("entry") or s["model"]))
    columns = _columns(task, metrics, prop_set)
    trust = trust_columns(chosen, task, prop_set, metrics)
    head = " & ".join(f"\\multicolumn{{2}}{{c}}{{{tex(label)} [{tex(unit)}]}}" for _, label, unit in columns + trust)
    lines = [r"\begin{tabular}{ll" + "rr" * len(columns + trust) + "}", r"\toprule"]
    if trust:  # a column group over the trust properties; a table without their values is the 2022 one
        first = 3 + 2 * len(columns)
        lines += [f"& & \\multicolumn{{{2 * len(columns)}}}{{c}}{{}} & \\multicolumn{{{2 * len(trust)}}}{{c}}"
                  f"{{{TRUST_GROUP}}} \\\\", f"\\cmidrule(lr){{{first}-{first + 2 * len(trust) - 1}}}"]
        columns = columns + trust
    lines += [f"Environment & Model & {head} \\\\",
              " & & " + " & ".join("Value & Index" for _ in columns) + r" \\", r"\midrule"]
    for summary in chosen:
        cells = [tex(summary["environment"]), tex(summary.get("entry") or summary["model"])]
        for key, _, _ in columns:
            metric = summary["metrics"].get(key) or {}
            cells += [table_value(key, metric.get("value")), _index_cell(metric)]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def trust_columns(chosen: Sequence[dict], task: str, prop_set: PropertySet | None,
                  shown: Sequence[str]) -> list[tuple[str, str, str]]:
    """(key, label, unit) of the task's trust properties (issue 28) not shown already, where any
    chosen entry has a value for one: none for logs that measured none (the 2022 table stays as it was)."""
    props = prop_set or load_property_set(task)
    keys = [k for k in props.group_keys(TRUST_GROUP) if k not in shown]
    if not any((s["metrics"].get(k) or {}).get("value") is not None for s in chosen for k in keys):
        return []
    return [(k, props[k].name, props[k].unit) for k in keys]


# ---------------------------------------------------------------------------------------------
# figures


def _shown_environment(env: str, summaries: Sequence[dict]) -> str:
    """The environment's name, marked where any of its energy figures is an estimate (no sensor)."""
    estimated = any(s.get("energy", {}).get("estimated") for s in summaries)
    return f"{env} (energy estimated)" if estimated else env


NOT_GRADED_COLOR = "#9E9E9E"


def rating_histogram(rated: Sequence[dict], task: str):
    """Stacked bars: how many models of each environment got each compound rating, and how many
    were not graded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = sorted({s["environment"] for s in rated if s["task"] == task})
    counts = {env: Counter(s["compound"] for s in rated if s["task"] == task and s["environment"] == env)
              for env in envs}
    names = [plain(_shown_environment(env, [s for s in rated if s["task"] == task and s["environment"] == env]))
             for env in envs]
    fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(envs) + 1.5))
    left = [0] * len(envs)
    # entries that failed a validity gate, or had nothing to compare with, have no letter: a grey bar,
    # counted, never a rating
    classes = list(RATINGS) + ([None] if any(counts[env][None] for env in envs) else [])
    for rating in classes:
        widths = [counts[env][rating] for env in envs]
        ax.barh(names, widths, left=left, color=RATING_COLORS.get(rating, NOT_GRADED_COLOR),
                label=rating or "no letter (not graded / not rated)")
        left = [a + b for a, b in zip(left, widths)]
    ax.set_xlabel(plain(f"{task} models"))
    ax.legend(ncol=len(classes), fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)  # above the bars
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# the I/O edge


def _save(fig, out: Path, name: str, written: Written) -> None:
    """The figure as PDF and PNG, each rendered in memory with fixed metadata (the same figure gives
    the same bytes) and written only when its bytes differ (:func:`mlel.paper.files.write_if_changed`,
    atomic: a full disk leaves no truncated file and an error naming it; a symlink planted at the
    name is replaced, never written through). The PNG keeps the figure's dpi, the one its names
    were placed at."""
    import matplotlib.pyplot as plt

    try:
        for suffix, options in (("pdf", PDF_OPTIONS), ("png", {"dpi": PNG_DPI, "metadata": PNG_METADATA})):
            buffer = io.BytesIO()
            fig.savefig(buffer, format=suffix, **options)
            write_if_changed(out / f"{name}.{suffix}", buffer.getvalue(), written)
    finally:
        plt.close(fig)


def _drawn(build, out: Path, name: str, undrawn: Sequence[str], messages: list[str], written: Written) -> None:
    """Build one figure and save it; what it leaves out is named in ``messages``, and a figure that
    cannot be drawn at all is skipped with its reason (the other figures are still drawn)."""
    messages += [f"{name}: left out {what}" for what in undrawn]
    try:
        fig = build()
    except (ValueError, OverflowError, ZeroDivisionError, FloatingPointError) as error:
        messages.append(f"skipped figure {name}: {error}")
        return
    _save(fig, out, name, written)


def scatter_axes(prop_set: PropertySet) -> tuple[str, str]:
    """The two label tiles a task's scatter plots: the first (energy), against the quality tile
    where there is one (accuracy), else the second (runtime, latency)."""
    tiles = list(prop_set.label_tiles) or list(prop_set.keys)
    quality = [k for k in tiles[1:] if prop_set[k].group.lower() == "quality"]
    return tiles[0], quality[0] if quality else tiles[min(1, len(tiles) - 1)]


def rate_for_paper(directory, reference: str | None = None, scheme: str | None = None
                   ) -> tuple[list[dict], list[str], list]:
    """Rated summaries (with the boundaries used) of every task in ``directory``, by the ratings
    pipeline under ``scheme`` (None: each task's own) against ``reference`` (None: each task's own
    reference model; a task without one, e.g. an imported one, is indexed against the best model per
    environment). Returns (summaries, messages, the merged logs' runs)."""
    report = rate_directory(directory, RatingOptions(reference=reference, scheme=scheme))
    rated = [record.to_dict(settings=True) for record in report.records]
    messages = [f"skipped {p}" for p in report.problems] + [f"warning: {w}" for w in report.warnings]
    on_best = sorted({s["task"] for s in rated if s.get("reference") == "best"})
    if on_best:
        messages.append(f"note: {', '.join(on_best)} name no reference model: indexed against the best model "
                        "per environment")
    return rated, messages, report.runs


def write_tables(directory, runs, rated: list[dict], models: Sequence[str], out: Path,
                 written: Written | None = None) -> Written:
    """exec-envs.tex (merged logs only), indexing-results.tex, and one indexing table per other task."""
    platforms, counts, backends = {}, defaultdict(Counter), {}
    for run in runs:
        counts[run.environment][run.task] += 1
        backends.setdefault(run.environment, run.backend)
        if run.environment not in platforms:
            platforms[run.environment] = read_platform(Path(directory) / run.file)
    tables = [("indexing-results.tex", indexing_table(rated, models))]
    if platforms:
        tables.insert(0, ("exec-envs.tex", exec_envs_table(platforms, counts, backends)))
    for task in sorted({s["task"] for s in rated} - set(TASKS)):
        prop_set = load_property_set(task)
        tables.append((f"indexing-results-{_figure_name(task)}.tex",
                       indexing_table(rated, None, tiles_of(prop_set), task, prop_set)))
    written = written if written is not None else Written()
    for name, text in tables:
        write_if_changed(out / name, text.encode(), written)
    return written


def tiles_of(prop_set: PropertySet) -> list[str]:
    return list(prop_set.label_tiles) or list(prop_set.keys)[:4]


def _scatters(rated: list[dict], out: Path, messages: list[str], written: Written) -> None:
    for task in [t for t in TASKS if any(s["task"] == t for s in rated)] + sorted(
            {s["task"] for s in rated} - set(TASKS)):
        prop_set = load_property_set(task)
        x, y = scatter_axes(prop_set)
        of_task = [s for s in rated if s["task"] == task]
        names = {p.key: p.name for p in prop_set.properties}
        higher = {p.key: p.higher_is_better for p in prop_set.properties}
        for env in sorted({s["environment"] for s in of_task}):
            subset = [s for s in of_task if s["environment"] == env]
            against = subset[0].get("reference")
            scale = "best model" if against == "best" else f"reference {against}"
            title = f"{task}: {_shown_environment(env, subset)} ({scale})"
            build = partial(index_scatter, subset, x, y, subset[0].get("boundaries") or prop_set.default_boundaries(),
                            title=title, labels=names, higher_is_better=higher)
            _drawn(build, out, f"scatter_{_figure_name(task)}_{_figure_name(env)}", undrawn(subset, x, y, "index"),
                   messages, written)
        _drawn(partial(rating_histogram, rated, task), out, f"ratings_{_figure_name(task)}", (), messages, written)
    inference = [s for s in rated if s["task"] == "inference"]
    if inference:
        units = {k: METRICS[k].unit for k in ("parameters", "inference_time")}
        build = partial(parameters_vs_runtime, inference, inference[0].get("boundaries") or {},
                        inference[0]["reference"], units)
        _drawn(build, out, "parameters_vs_runtime", undrawn(inference, "parameters", "inference_time", "value"),
               messages, written)


def create_paper_results(directory: str | os.PathLike, output_dir: str | os.PathLike,
                         reference: str | None = None, models: Sequence[str] = DEFAULT_MODELS,
                         label_models: Sequence[str] | None = None, scheme: str | None = None
                         ) -> tuple[Written, list[str]]:
    """Write the tables, figures and labels of every task (rated under ``scheme``: None, each task's
    own; ``mlee-2022`` reproduces the 2022 paper), each file only when its bytes change; returns
    (the files, changed and unchanged: iterating gives every path, messages about skipped parts)."""
    rated, messages, runs = rate_for_paper(directory, reference, scheme)
    if not rated:
        raise ValueError(f"nothing could be rated in {directory}")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = write_tables(directory, runs, rated, models, out)
    _scatters(rated, out, messages, written)
    _write_labels(rated, out, label_models or models, written)
    return written, messages


def _write_labels(rated: list[dict], out: Path, models: Sequence[str], written: Written) -> None:
    from mlel.labels import EnergyLabel
    for summary in rated:
        if summary["model"] in models and summary["task"] == "inference":  # not graded: the label says why
            name = f"label_{_figure_name(summary['model'])}_{_figure_name(summary['environment'])}"
            label = EnergyLabel(summary)
            write_if_changed(out / f"{name}.pdf", label.to_pdf(), written)
            write_if_changed(out / f"{name}.png", label.to_png(), written)


# ---------------------------------------------------------------------------------------------
# command line: python -m mlel.paper (create_paper_results.py is a shim)


def build_parser():
    import argparse

    from mlel.base.errors import EXIT_CODES_EPILOG

    parser = argparse.ArgumentParser(
        prog="python -m mlel.paper",
        description="Regenerate the paper's tables and figures from a directory of merged logs and "
                    "result records: exec-envs.tex, indexing-results.tex (and one per imported task), "
                    "index scatter plots per task and environment, parameters vs runtime, histograms "
                    "of compound ratings, and labels (PDF + PNG). A file is written only when its bytes "
                    "change (the same input gives the same bytes); the command names the files that changed.",
        epilog=EXIT_CODES_EPILOG + " 1 also when nothing could be rated.")
    parser.add_argument("-d", "--directory", default="results", help="merged logs and records (default: results)")
    parser.add_argument("--output-dir", default="paper_results", help="folder to write to (default: paper_results)")
    parser.add_argument("-r", "--reference", default=None,
                        help="reference model of the index scale (default: each task's own, ResNet101 for the "
                             "2022 tasks; a task that names none is indexed against the best model per environment)")
    parser.add_argument("--scheme", metavar="NAME|FILE", default=None,
                        help="rating scheme (default: each task's own, else mlee: no letter without evidence); "
                             "--scheme mlee-2022 reproduces the 2022 paper exactly")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                        help=f"models of the indexing table and labels (default: {' '.join(DEFAULT_MODELS)})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import sys

    from mlel.base.errors import MleeError

    args = build_parser().parse_args(argv)
    try:
        written, messages = create_paper_results(args.directory, args.output_dir, args.reference, args.models,
                                                 scheme=args.scheme)
    except (OSError, ValueError, MleeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for message in messages:
        print(message, file=sys.stderr)
    print(written.message(args.output_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
