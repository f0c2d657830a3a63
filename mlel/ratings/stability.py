"""How stable are the grades between repeated runs? Rate each repetition on its own, compare letters.

Entries that pool several runs (``--repeat N``, a sweep's seeds) are split into replicates: the
k-th replicate holds the k-th run of every entry (runs in file order: a sweep's seeds in the order
they ran), the reference model's k-th run among them, and is rated as if it were the only
measurement. A grade *flips* when the replicates of one entry give it different letters. This is
the number a reader of one single-run label should know: how often the letter would have been
another had the run been repeated. (The rating probabilities of the pooled entry say how sure its
letter is; this counts what the single runs said.)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from mlel.ratings.rated import ModelResult

COMPOUND = "compound"


@dataclass(frozen=True)
class Flip:
    """One grade that differs between replicates: the letters in replicate order."""

    task: str
    environment: str
    entry: str
    metric: str  # a property key, or "compound"
    letters: tuple[str, ...]


@dataclass(frozen=True)
class Stability:
    entries: int  # graded entries with at least two runs
    replicates: int  # the most runs any of them pools
    grades: int  # metric grades compared (compound ones not counted)
    flips: tuple[Flip, ...]

    @property
    def compound_flips(self) -> int:
        return sum(flip.metric == COMPOUND for flip in self.flips)

    @property
    def metric_flips(self) -> int:
        return len(self.flips) - self.compound_flips

    def to_dict(self) -> dict:
        return {"entries": self.entries, "replicates": self.replicates, "metric_grades": self.grades,
                "metric_flips": self.metric_flips, "compound_flips": self.compound_flips,
                "flips": [{"task": f.task, "environment": f.environment, "entry": f.entry,
                           "metric": f.metric, "letters": list(f.letters)} for f in self.flips]}

    def summary(self) -> str:
        if not self.entries:
            return "grade stability: no graded entry pools two runs or more (nothing to compare)"
        return (f"grade stability over {self.replicates} replicates of {self.entries} entries: "
                f"{self.compound_flips} of {self.entries} compound grades and {self.metric_flips} of "
                f"{self.grades} metric grades differ between replicates")


def replicate(entry: ModelResult, k: int) -> ModelResult:
    """The entry as its k-th run alone measured it (values the run lacks: the pooled ones, e.g. a
    training entry's accuracy, which comes from the inference entries)."""
    run = entry.runs[k]
    values = {**entry.values, **{key: v for key, v in run.items() if v is not None}}
    return replace(entry, values=values, spread={}, run_values=(), logs=[entry.logs[k]])


def grade_stability(entries: Sequence[ModelResult], options=None) -> Stability:
    """Rate each replicate of the graded multi-run entries on its own (with every single-run
    entry beside it, so references are found as in the pooled rating) and count the flips."""
    from mlel.ratings import rate_entries  # the rating engine; this module sits beside it

    repeated = [e for e in entries if e.not_graded is None and e.n_runs > 1]
    if not repeated:
        return Stability(0, 0, 0, ())
    most = max(e.n_runs for e in repeated)
    letters: dict[tuple, list[str]] = {}
    for k in range(most):
        replicas = [replicate(e, k) if 1 < e.n_runs and k < e.n_runs else e for e in entries]
        rated, _ = rate_entries(replicas, options)
        for record in rated:
            if record.entry.n_runs > 1 or record.compound is None:  # pooled (no k-th run) or not graded
                continue
            key = (record.task, record.environment, record.name)
            for metric, rating in record.metrics.items():
                letters.setdefault(key + (metric,), []).append(rating.rating)
            letters.setdefault(key + (COMPOUND,), []).append(record.compound)
    wanted = {(e.task, e.environment, e.name) for e in repeated}
    flips = tuple(Flip(*key, tuple(seen)) for key, seen in sorted(letters.items())
                  if key[:3] in wanted and len(set(seen)) > 1)
    # a metric no replicate gave a letter (not measured: trust values of a run without --trust) is no grade
    grades = sum(1 for key, seen in letters.items() if key[:3] in wanted and key[3] != COMPOUND
                 and any(letter is not None for letter in seen))
    return Stability(len(repeated), most, grades, flips)
