"""Rate a directory of merged logs: the I/O edge around the pure rating core, and the text table."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from mlel.logs import Problem, RunLog, load_logs
from mlel.metrics import METRICS, task_metrics
from mlel.ratings import RatingOptions, rate_runs


@dataclass
class RatingReport:
    rated: list[dict]  # one summary per (task, environment, model), SPEC §7
    problems: list[Problem] = field(default_factory=list)  # files skipped, with the reason
    warnings: list[str] = field(default_factory=list)  # e.g. a reference model absent somewhere
    runs: list[RunLog] = field(default_factory=list)


def rate_directory(directory: str | os.PathLike, options: RatingOptions | None = None,
                   task: str | None = None) -> RatingReport:
    """Load every merged log in ``directory`` and rate it. Unreadable files become problems."""
    runs, problems = load_logs(directory)
    rated, warnings = rate_runs(runs, options)  # all tasks: training takes accuracy from inference
    if task:
        rated = [summary for summary in rated if summary["task"] == task]
        warnings = [w for w in warnings if f" {task} " in w]
    return RatingReport(rated, problems, warnings, runs)


def _cell(metric: dict) -> str:
    value = metric["value"]
    if value is None:
        return "n.a. (E)"
    return f"{value:.4g} ({metric['rating']})"


def format_table(rated: list[dict]) -> str:
    """A readable table per task: model, environment, compound, then each metric's value (rating)."""
    lines = []
    for task in ("inference", "training"):
        rows = [r for r in rated if r["task"] == task]
        if not rows:
            continue
        keys = task_metrics(task)
        header = ["model", "environment", "rating"] + [f"{k} [{METRICS[k].unit}]" for k in keys]
        body = [[r["model"], r["environment"] + (" (estimated)" if r["energy"]["estimated"] else ""),
                 r["compound"]] + [_cell(r["metrics"][k]) for k in keys] for r in rows]
        widths = [max(len(str(row[i])) for row in [header] + body) for i in range(len(header))]
        lines.append(f"{task} — {len(rows)} rated")
        for row in [header] + body:
            lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
