"""What ``merge_results.py`` prints: one table row per run folder, from the merged log's record
(:meth:`mlel.runlog.logs.MergedLog.overview` — this module reads no JSON), and the counts."""
from __future__ import annotations

import sys
from pathlib import Path


def _row(outcome) -> list[str]:
    if outcome.record is None:
        return [outcome.folder.name, "?", "?", "-", "-", "-", "-", outcome.status]
    view = outcome.record.overview()
    energy = view.energy.energy_j
    return [outcome.folder.name, view.model, view.backend,
            f"{view.duration_s:.1f} s" if view.duration_s is not None else "-",
            f"{view.accuracy:.3f}" if view.accuracy is not None else "-",
            f"{energy:.1f} Ws" if energy is not None else "-", view.kinds,
            outcome.status + (" (incomplete)" if view.incomplete else "")]


def summary_table(outcomes: list) -> str:
    head = ["run", "model", "backend", "duration", "accuracy", "energy", "source", "status"]
    rows = [head] + [_row(o) for o in outcomes]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(outcomes: list, output_dir) -> None:
    """What merge_results.py prints: problems on stderr, the table and the counts on stdout."""
    for o in outcomes:
        if o.status == "failed":
            print(f"FAILED {o.folder}: {o.message}", file=sys.stderr)
        elif o.status == "exists":
            print(f"SKIPPED {o.folder.name}: {o.message}", file=sys.stderr)
        elif o.message and o.status != "unchanged":
            print(f"{o.status} {o.folder.name}: {o.message}")
    print(summary_table(outcomes))
    counts: dict = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    print(", ".join(f"{n} {status}" for status, n in counts.items()) + f" -> {Path(output_dir)}")
    if counts.get("unchanged") == len(outcomes):
        print("already merged: nothing to do, nothing written")
