"""The rated result: what the engine made of one entry under one scheme.

A :class:`RatedResult` holds each property's value / index / level and the compound; its
:meth:`RatedResult.to_dict` is the one place the rated-summary JSON of SPEC §7 is built. Entries
(what is rated) are :mod:`mlel.ratings.entries`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping, Sequence
from typing import Callable, NamedTuple

from mlel.ratings.engine import NOT_RATED, RATINGS, TINY
from mlel.ratings.entries import ModelResult, entries_from_records
from mlel.base.environment import environment_label

__all__ = ["ModelResult", "MetricRating", "RatedResult", "entries_from_records", "metric_rating"]


# P(A)..P(E) of a certain letter, per level; and as JSON dicts, templates that each summary copies
# (a summary owns every dict it holds: changing one never changes another).
_CERTAIN = tuple(tuple(1.0 if i == level else 0.0 for i in range(len(RATINGS))) for level in range(len(RATINGS)))
# by identity, no tuple hashing: _CERTAIN's rows live as long as the module, no other object has their ids
_CERTAIN_DICTS = {id(row): dict(zip(RATINGS, row)) for row in _CERTAIN}
_LEVEL_DICTS = tuple(_CERTAIN_DICTS[id(row)] for row in _CERTAIN)


def _p_dict(p: Sequence[float] | None) -> dict | None:
    """P(A)..P(E) as a new JSON dict (None stays None)."""
    certain = _CERTAIN_DICTS.get(id(p))
    if certain is not None:
        return certain.copy()
    return p and dict(zip(RATINGS, p))



def _metrics_json(metrics: Mapping[str, "MetricRating"], levels: Sequence[str] = RATINGS) -> dict:
    """Every metric's JSON (runs once per (entry, property): 150,000 times for 20,000 logs)."""
    if type(metrics) is CertainMetrics and levels is RATINGS:
        return metrics.json()
    return {key: metric.to_dict(levels) for key, metric in metrics.items()}


class MetricRating(NamedTuple):  # immutable and cheap: a rated result holds one per property
    value: float | None
    index: float | None
    rating: str | None  # "A".."E" (the most likely letter); None: not graded
    n: int = 1  # runs with a value
    ci95: tuple[float, float] | None = None  # of the value; None with one run
    rating_p: tuple[float, ...] | None = None  # P(A)..P(E); None: not graded
    invalid: str | None = None  # the invalid input that made the value null
    not_rated: str | None = None  # why a graded entry's metric has no letter (honest schemes)

    def to_dict(self, levels: Sequence[str] = RATINGS) -> dict:
        value, index, rating, n, ci95, p, invalid, not_rated = self  # one unpacking: thousands per output
        if levels is not RATINGS:  # a scheme's own level labels ("5".."1")
            rating = rating and levels[RATINGS.index(rating)]
            p = p and dict(zip(levels, p))
        out = {"value": value, "index": index, "rating": rating, "n": n, "ci95": ci95 and list(ci95),
               "rating_p": p if type(p) is dict else _p_dict(p)}
        if invalid:
            out["invalid"] = invalid
        if not_rated:
            out["not_rated"] = not_rated
        return out

    @property
    def probability(self) -> float | None:
        """How likely the letter shown is (None: not graded)."""
        return _chance(self.rating, self.rating_p)


def _chance(letter: str | None, odds) -> float | None:
    """The probability of the letter shown, from P(A..E); None where there is no letter or odds."""
    return None if letter is None or odds is None else odds[RATINGS.index(letter)]


class CertainMetrics(Mapping):
    """The metrics of the common entry — graded, one run, every input valid, each letter certain
    (or no letter, for want of a value or an index) —
    kept as the engine's row: :class:`MetricRating` records are made only when read, and the JSON
    is written from the row (20,000 logs: 150,000 records never built)."""

    __slots__ = ("_values", "_keys", "_indices", "_levels")

    def __init__(self, values: Mapping[str, float | None], keys: Sequence[str], indices: Sequence[float],
                 levels: Sequence[int]):
        self._values, self._keys, self._indices, self._levels = values, keys, indices, levels

    def __getitem__(self, key: str) -> MetricRating:
        try:
            j = self._keys.index(key)
        except ValueError:
            raise KeyError(key) from None
        value, index, level = self._values.get(key), self._indices[j], self._levels[j]
        if level == NOT_RATED:
            return MetricRating(value, None if index != index else index, None, 0 if value is None else 1,
                                None, None, None, _unrated_because(value, index))
        return MetricRating(value, None if index != index else index, RATINGS[level],
                            0 if value is None else 1, None, _CERTAIN[level], None)

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def json(self) -> dict:
        """The same dicts as each record's ``to_dict()``, written from the row."""
        values, certain = self._values, _LEVEL_DICTS
        out = {}
        for key, index, level in zip(self._keys, self._indices, self._levels):
            value = values.get(key)
            if level == NOT_RATED:
                out[key] = {"value": value, "index": None if index != index else index, "rating": None,
                            "n": 0 if value is None else 1, "ci95": None, "rating_p": None,
                            "not_rated": _unrated_because(value, index)}
                continue
            out[key] = {"value": value, "index": None if index != index else index, "rating": RATINGS[level],
                        "n": 0 if value is None else 1, "ci95": None, "rating_p": certain[level].copy()}
        return out


SINGLE_RUN_NOTE = "1 run: no interval"


def uncertainty_note(entry: ModelResult, resampled: bool) -> str:
    """What the intervals and probabilities of an entry rest on, in words."""
    if entry.n_runs == 1:
        return SINGLE_RUN_NOTE + ("; rating probabilities from the reference's runs" if resampled else "")
    return (f"{entry.n_runs} runs: 95% interval of the mean (Student-t; log scale for positive quantities, "
            "logit for fractions; none for a constant); rating probabilities by resampling the runs of model "
            "and reference")


@dataclass(frozen=True)
class RatedResult:
    """One rated entry: per-property value / index / rating, the compound rating, and how it was
    rated (reference; and, where asked for, mode, weights and boundaries). A not graded entry
    (``entry.not_graded``) keeps its values and has no letters."""

    entry: ModelResult
    metrics: Mapping[str, MetricRating]
    compound: str | None
    reference: str
    mode: str = ""
    weights: Mapping[str, float] = field(default_factory=dict)
    boundaries: Mapping[str, Sequence[float]] = field(default_factory=dict)
    compound_p: tuple[float, ...] | None = None  # P(A)..P(E) of the compound rating
    resampled: bool = False  # probabilities from draws (several runs of the model or reference)
    scheme: str = ""  # the rating scheme's name (mlel.tasks.schemes)
    levels: tuple[str, ...] = RATINGS  # how the scheme's levels read, best first ("5".."1": stars)
    level_style: str = "letters"
    not_rated: str | None = None  # why a graded entry has no compound (honest schemes): never an E
    rests_on: str | None = None  # "5 of 7 weighted metrics", where some weighted metric is not rated
    boundaries_note: str | None = None  # where the scheme's group-made boundaries fell back

    task = property(lambda self: self.entry.task)
    environment = property(lambda self: self.entry.environment)
    model = property(lambda self: self.entry.model)
    name = property(lambda self: self.entry.name)
    logs = property(lambda self: self.entry.logs)
    spread = property(lambda self: self.entry.spread)
    sources = property(lambda self: self.entry.sources)
    estimated = property(lambda self: self.entry.estimated)
    graded = property(lambda self: self.entry.not_graded is None)

    @classmethod
    def build(cls, entry: ModelResult, keys: Sequence[str], indices: Sequence[float],
              levels: Sequence[int], compound: int, reference: str,
              supports: Mapping[str, tuple[float, float]] | None = None, **how) -> "RatedResult":
        """From one row of the engine's arrays (``indices`` NaN where missing, ``levels`` 0..4):
        each letter certain (``rating_p`` 1 for it). A not graded entry gets no letters.
        ``supports``: where a property's values can lie (:attr:`mlel.tasks.properties.Property.support`)."""
        return cls.builder(keys, reference, how, supports)(entry, indices, levels, compound)

    @classmethod
    def builder(cls, keys: Sequence[str], reference: str, how: Mapping,
                supports: Mapping[str, tuple[float, float]] | None = None
                ) -> Callable[[ModelResult, Sequence[float], Sequence[int], int], "RatedResult"]:
        """:meth:`build` for many rows rated alike (one task): what they share is set up once.
        ``how`` may also give the ``scheme`` name, its ``levels`` and ``level_style``, the
        ``boundaries_note`` and ``reasons`` (a function: entry -> why it is not rated, or None)."""
        mode, weights, boundaries = how.get("mode", ""), how.get("weights", {}), how.get("boundaries", {})
        resampled, support = how.get("resampled", False), (supports or {}).get
        scheme, level_names = how.get("scheme", ""), tuple(how.get("levels", RATINGS))
        level_names = RATINGS if level_names == RATINGS else level_names  # one object: `is` tests it
        style, note = how.get("level_style", "letters"), how.get("boundaries_note")
        weighted = [j for j, key in enumerate(keys) if weights.get(key, 0.0) > 0]

        def build(entry: ModelResult, indices: Sequence[float], levels: Sequence[int], compound: int,
                  reason: str | None = None):
            graded = entry.not_graded is None
            rated = graded and reason is None and compound != NOT_RATED
            if rated and not entry.run_values and not entry.invalid:
                # the common case, kept as the row; tuples: of numbers only, the collector stops
                # tracking them (lists it walks each time)
                metrics = CertainMetrics(entry.values, keys, tuple(indices), tuple(levels))
            else:
                metrics = {key: metric_rating(entry, key, None if index != index else index,
                                              _CERTAIN[level] if graded and level != NOT_RATED else None,
                                              support(key), _metric_reason(entry, key, level, graded, reason, index))
                           for key, index, level in zip(keys, indices, levels)}
            rests_on = None
            if rated:
                counted = sum(levels[j] != NOT_RATED for j in weighted)
                rests_on = None if counted == len(weighted) else f"{counted} of {len(weighted)} weighted metrics"
            elif graded and reason is None:
                reason = "no metric of weight > 0 has a rating"
            # built by __init__: its fields stay in the instance, no separate __dict__ to track
            return cls(entry, metrics, RATINGS[compound] if rated else None, reference, mode, weights,
                       boundaries, _CERTAIN[compound] if rated else None, resampled, scheme, level_names, style,
                       reason if graded else None, rests_on, note)
        return build

    @property
    def compound_probability(self) -> float | None:
        return _chance(self.compound, self.compound_p)

    def to_dict(self, settings: bool = False) -> dict:
        """The rated summary of SPEC §7 (plus energy, spread, runs, intervals and probabilities);
        ``settings`` adds the mode, weights and boundaries it was rated with."""
        entry, compound_p, levels = self.entry, self.compound_p, self.levels
        single = not entry.run_values and not self.resampled  # the common case: no call for its note
        compound = self.compound
        if levels is not RATINGS and compound is not None:  # a scheme's own labels ("5".."1")
            compound = levels[RATINGS.index(compound)]
        out = {  # the SPEC §7 keys first, in their order; then what issue 13 adds
            "task": entry.task, "environment": entry.environment, "model": entry.model,
            "logs": list(entry.logs), "metrics": _metrics_json(self.metrics, levels),
            "compound": compound, "dataset": entry.dataset, "backend": entry.backend,
            "reference": self.reference,
            "energy": {"total_ws": entry.energy_ws, "dynamic_ws": entry.dynamic_energy_ws,
                       "sources": dict(entry.sources), "estimated": "estimated" in entry.sources.values(),
                       "gco2e": entry.gco2e},
            "spread": dict(entry.spread),
            "environment_label": environment_label(entry.environment, "estimated" in entry.sources.values()),
            "entry": entry.name if entry.variant else entry.model,
            "configuration": dict(entry.configuration) if entry.configuration else {},
            "compound_p": _p_dict(compound_p) if levels is RATINGS else compound_p and dict(zip(levels, compound_p)),
            "n_runs": len(entry.run_values) or 1,
            "uncertainty": SINGLE_RUN_NOTE if single else uncertainty_note(entry, self.resampled),
            "graded": entry.not_graded is None,
        }
        if self.scheme:
            out["scheme"] = self.scheme
        if levels is not RATINGS:
            out["levels"], out["level_style"] = list(levels), self.level_style
        if entry.not_graded is not None:
            out["not_graded"] = entry.not_graded
        if self.not_rated is not None:
            out["not_rated"] = self.not_rated
        if self.rests_on is not None:
            out["compound_rests_on"] = self.rests_on
        if self.boundaries_note is not None:
            out["boundaries_note"] = self.boundaries_note
        if entry.window_unchecked is not None:  # graded, but the gates could not check its window
            out["window_unchecked"] = entry.window_unchecked
        if entry.problems:
            out["problems"] = list(entry.problems)
        if settings:
            out.update(mode=self.mode, weights=dict(self.weights),
                       boundaries={k: list(b) for k, b in self.boundaries.items()})
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> "RatedResult":
        """A rated summary (SPEC §7 JSON) back to a record."""
        energy = data.get("energy") or {}
        levels = tuple(data.get("levels") or RATINGS)
        levels = RATINGS if levels == RATINGS else levels
        metrics = {k: _metric_from_dict(m, levels) for k, m in (data.get("metrics") or {}).items()}
        model = data["model"]
        name = data.get("entry") or model
        variant = name[len(model) + 2:-1] if name != model and name.startswith(model + " (") else ""
        entry = ModelResult(
            task=data["task"], environment=data["environment"], model=model,
            logs=list(data.get("logs") or []), values={k: m.value for k, m in metrics.items()},
            spread=dict(data.get("spread") or {}), dataset=data.get("dataset", ""),
            backend=data.get("backend", ""), sources=dict(energy.get("sources") or {}),
            energy_ws=energy.get("total_ws"), dynamic_energy_ws=energy.get("dynamic_ws"),
            gco2e=energy.get("gco2e"), configuration=tuple((data.get("configuration") or {}).items()),
            variant=variant, invalid={k: m.invalid for k, m in metrics.items() if m.invalid},
            problems=tuple(data.get("problems") or ()), not_graded=data.get("not_graded"),
            window_unchecked=data.get("window_unchecked"))
        compound_p, compound = data.get("compound_p"), data.get("compound", "E")
        return cls(entry, metrics, _letter(compound, levels), data.get("reference", ""),
                   data.get("mode", ""), dict(data.get("weights") or {}), dict(data.get("boundaries") or {}),
                   tuple(compound_p[r] for r in levels) if compound_p else None, False, data.get("scheme", ""),
                   levels, data.get("level_style", "letters"), data.get("not_rated"),
                   data.get("compound_rests_on"), data.get("boundaries_note"))


def _letter(label: str | None, levels: Sequence[str]) -> str | None:
    """A scheme's level label back to the letter the record holds (None stays None)."""
    return label if label is None or levels is RATINGS else RATINGS[list(levels).index(label)]


OVERFLOW_REASON = "no index: the ratio to the reference is no finite number (it overflows), or the reference has no value"


def _unrated_because(value, index: float | None = None) -> str:
    """Why a valid metric of a rated entry has no letter: it has no value; it has no index (NaN: the
    ratio cannot be computed — it overflows, divides by 0 — or the reference lacks the value); or its
    index has nothing to be graded against (no boundaries)."""
    if value is None:
        return "no value"
    if 0 <= value < TINY:  # mlel.ratings.engine.comparable: nothing measured
        return "no index: a value of 0 (or a denormal) is nothing measured; no ratio can be taken of it"
    if index is not None and index != index:
        return OVERFLOW_REASON
    return "no index: nothing to compare this value with"


def _metric_reason(entry: ModelResult, key: str, level: int, graded: bool, row_reason: str | None,
                   index: float | None = None) -> str | None:
    """Why one metric of a graded row has no letter (None: it has one, or the row is not graded)."""
    if not graded or (level != NOT_RATED and row_reason is None):
        return None
    if row_reason is not None:
        return "entry not rated"
    if entry.invalid.get(key):
        return "invalid value"
    return _unrated_because(entry.values.get(key), index)


def metric_rating(entry: ModelResult, key: str, index: float | None, rating_p: Sequence[float] | None,
                  support: tuple[float, float] | None = None, not_rated: str | None = None) -> MetricRating:
    """One property of an entry, rated: the letter shown is the most likely one (ties: the
    better); its runs' count and 95% interval (:func:`mlel.ratings.uncertainty.value_interval`: inside
    the property's ``support``); an invalid input named, value and index null; ``not_rated``: why it
    has no letter."""
    if not_rated is not None:
        rating_p = None
    rating = None if rating_p is None else RATINGS[max(range(len(RATINGS)), key=lambda i: (rating_p[i], -i))]
    invalid = entry.invalid.get(key)
    if invalid:
        return MetricRating(None, None, None if rating is None else RATINGS[-1], 0, None,
                            None if rating is None else _CERTAIN[-1], invalid, not_rated)
    column = [run.get(key) for run in entry.runs]
    present = [v for v in column if v is not None and v == v]
    ci95 = None
    if len(present) > 1:
        from mlel.ratings.uncertainty import value_interval
        ci95 = value_interval(present, support)
    return MetricRating(entry.values.get(key), index, rating, len(present), ci95,
                        None if rating_p is None else tuple(float(p) for p in rating_p), None, not_rated)


def _metric_from_dict(data: Mapping, levels: Sequence[str] = RATINGS) -> MetricRating:
    ci, p, n = data.get("ci95"), data.get("rating_p"), data.get("n")
    return MetricRating(data.get("value"), data.get("index"), _letter(data.get("rating", "E"), levels),
                        1 if n is None else int(n), tuple(ci) if ci else None,  # n 0: no value
                        tuple(p[r] for r in levels) if p else None, data.get("invalid"), data.get("not_rated"))

