"""A rating scheme applied to one task's arrays (SPEC §10): groups, boundaries, levels, and why an
entry or a metric is not rated.

The scheme is data (:mod:`mlel.tasks.schemes`); here are the pipeline steps it chooses between. The
ratings pipeline (:func:`mlel.ratings.rate_entries`) and ELEx call these same functions, so a letter
is made one way. Pure functions: arrays and records in, new arrays out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from mlel.ratings import engine
from mlel.ratings.engine import NOT_RATED, WORST
from mlel.ratings.odds import NO_REFERENCE
from mlel.ratings.rated import ModelResult
from mlel.tasks.properties import PropertySet
from mlel.tasks.schemes import DEFAULT_SCHEME, Scheme, load_scheme

BOUNDARY_WORDS = {"quantiles": "quantile", "equal-width": "equal-width"}


def resolve_scheme(prop_set: PropertySet, scheme: "str | Scheme | None" = None, *, scale: str | None = None,
                   calibrate: bool = False, quantiles: Sequence[float] | None = None, mode: str | None = None,
                   given_boundaries: bool = False) -> Scheme:
    """The scheme a task is rated by: the one asked for, else the property set's, else the default;
    with the command line's overrides. Boundaries of one's own (``--boundaries``, ELEx's sliders) are
    fixed ones, whatever the scheme makes otherwise. ``--calibrate`` makes boundaries from quantiles; so does
    ``--scale best`` without boundaries of one's own, in a scheme that has no fixed boundaries for
    the best scale (mlee-2022, as the 2022 tool did)."""
    chosen = load_scheme(scheme if scheme is not None else prop_set.scheme or DEFAULT_SCHEME)
    boundaries = None
    if given_boundaries and chosen.derived_boundaries:  # boundaries of one's own are fixed ones
        boundaries = "fixed"
    if calibrate or (scale == "best" and chosen.scale != "best" and not given_boundaries
                     and chosen.best_boundaries is None):  # the 2022 tool calibrated on the best scale
        boundaries = "quantiles"
    return chosen.with_overrides(scale=scale, boundaries=boundaries,
                                 quantiles=None if quantiles is None else tuple(quantiles), mode=mode)


def effective_scale(scheme: Scheme, reference: str | None) -> str:
    """``reference`` needs a reference model: a task that names none is indexed against the best of
    each group (the scheme's own scale otherwise)."""
    return "best" if scheme.scale == "reference" and not reference else scheme.scale


def group_codes(entries: Sequence[ModelResult], names: Sequence[str]) -> tuple[np.ndarray, list[tuple]]:
    """(n,) the group of each entry by ``names`` (``environment`` or configuration keys; a key an entry
    lacks is part of its group as "") and the groups' keys, in order of first appearance."""
    if not names:  # the whole task: one group
        return np.zeros(len(entries), dtype=np.int64), [()]
    codes: dict[tuple, int] = {}
    out = np.empty(len(entries), dtype=np.int64)
    if tuple(names) == ("environment",):  # the common grouping: no configuration to look into
        for row, entry in enumerate(entries):
            out[row] = codes.setdefault((entry.environment,), len(codes))
        return out, list(codes)
    for row, entry in enumerate(entries):
        configuration = dict(entry.configuration)
        key = tuple(entry.environment if name == "environment" else str(configuration.get(name, ""))
                    for name in names)
        out[row] = codes.setdefault(key, len(codes))
    return out, list(codes)


def group_name(names: Sequence[str], key: tuple) -> str:
    """A group in words: "'A100 x8 - TensorFlow'" or "'H100 - AI Energy Score', class 'B'"."""
    parts = [f"'{value}'" if name == "environment" else f"{name} '{value}'"
             for name, value in zip(names, key) if value != ""]
    return ", ".join(parts) or "the task"


def derived_boundaries(scheme: Scheme, indices: np.ndarray) -> np.ndarray:
    """(m, 4) boundaries made from a group's indices (rows: its graded entries): the scheme's quantiles,
    or five equal-width bins over each column's min–max (a column of one value: every entry best).
    A column without a finite index gets NaN."""
    if scheme.boundaries == "quantiles":
        return engine.quantile_boundaries(indices, scheme.quantiles)
    return engine.equal_width_boundaries(indices)


@dataclass(frozen=True)
class TaskLevels:
    """What a scheme made of one task: levels (n, m) 0..4 or NOT_RATED; per row, the boundaries
    it was rated with ((m, 4), shared by its boundary group) and, where the scheme's group-made
    boundaries fell back to fixed ones, a note."""

    levels: np.ndarray
    bounds: Sequence[np.ndarray]  # per boundary group
    bound_group: np.ndarray  # (n,) the row's boundary group
    notes: Mapping[int, str]  # boundary group -> note (fell back to fixed / not rated)
    small: frozenset[int]  # boundary groups too small to be bounded (fallback "not-rated")


def task_levels(scheme: Scheme, indices: np.ndarray, graded: np.ndarray, bound_group: np.ndarray,
                group_keys: Sequence[tuple], fixed: np.ndarray) -> TaskLevels:
    """Levels of every row: fixed boundaries (``fixed`` (m, 4): the property set's with the user's over
    them; NaN or inf where a property has none), or boundaries made from each boundary group's graded
    rows — at least ``scheme.min_group`` of them, else the scheme's fallback, said in a note."""
    missing = NOT_RATED if scheme.honest else WORST
    if not scheme.honest:
        fixed = np.where(np.isnan(fixed), np.inf, fixed)  # the 2022 rule: no boundaries rates E
    levels = np.empty(indices.shape, dtype=np.int8)
    bounds, notes, small = [], {}, set()
    for code in range(len(group_keys)):
        rows = bound_group == code
        chosen = fixed
        if scheme.derived_boundaries:
            members = int((rows & graded).sum())
            if members >= scheme.min_group or not scheme.honest:
                chosen = derived_boundaries(scheme, indices[rows & graded])
                if not scheme.honest:  # the 2022 calibration: a column without an index rates E
                    chosen[np.isnan(chosen).any(axis=1)] = engine.NO_BOUNDARIES
            else:
                kind = BOUNDARY_WORDS[scheme.boundaries]
                where = group_name(scheme.boundaries_over, group_keys[code])
                if scheme.fallback == "fixed":
                    notes[code] = (f"fixed boundaries: {members} graded model(s) in {where}, {kind} boundaries "
                                   f"need {scheme.min_group}")
                else:
                    notes[code] = f"only {members} graded model(s) in {where}: {kind} boundaries need {scheme.min_group}"
                    small.add(code)
                    chosen = np.full(fixed.shape, np.nan)
        bounds.append(chosen)
        levels[rows] = engine.rating_levels(indices[rows], chosen, missing)
    return TaskLevels(levels, bounds, bound_group, notes, frozenset(small))


def entry_reasons(scheme: Scheme, entries: Sequence[ModelResult], graded: np.ndarray, scale: str,
                  reference: str | None, references: Sequence[int], groups: np.ndarray,
                  group_keys: Sequence[tuple]) -> dict[int, str]:
    """Row -> why the entry has nothing to be compared with (honest schemes only; graded rows only:
    a row that failed a validity gate says that instead): a lone model, no reference in its group."""
    if not scheme.honest or not len(groups):
        return {}
    graded_count = np.bincount(groups[graded], minlength=len(group_keys))
    lone = graded & (graded_count[groups] == 1)
    lacking = graded & ~lone & (np.asarray(references) == NO_REFERENCE) if scale == "reference" else lone & False
    reasons: dict[int, str] = {}
    for row in np.flatnonzero(lone | lacking).tolist():  # few rows: the words are made for them only
        entry, where = entries[row], group_name(scheme.group_by, group_keys[groups[row]])
        if lone[row]:
            reasons[row] = f"lone model: nothing to compare with in {where}; {how_to_compare(entry, reference)}"
        else:
            reasons[row] = (f"no {reference} in {where}: nothing to index against; "
                            f"{how_to_compare(entry, reference)}, or rate with --scale best")
    return reasons


def how_to_compare(entry: ModelResult, reference: str | None) -> str:
    """The command that gives an entry something to be compared with, on the machine it ran on."""
    backend = {"torch": "torch", "pytorch": "torch", "tensorflow": "tensorflow", "onnx": "onnx",
               "onnxruntime": "onnx"}.get(entry.backend.split(" ")[0].lower(), "torch")
    if entry.task in ("inference", "training") and reference:
        script = "infer.py" if entry.task == "inference" else "train.py"
        return f"to get a grade, measure the reference there: python {script} --model {reference.lower()} --backend {backend}"
    if reference:
        return f"to get a grade, measure {reference} on the same machine (mlel.record.experiment('{entry.task}', '{reference}'))"
    return (f"to get a grade, measure another model of the task on the same machine "
            f"(mlel.record.experiment('{entry.task}', '<model>'))")
