"""What ELEx shows about one entry beyond its values: display names (capped, "(estimated)"),
run counts, 95% intervals, rating probabilities and "not graded" notes.

The uncertainty fields are read from the records when they carry them (``ModelResult.ci95``,
``n_runs``, ``graded`` / ``not_graded``; ``MetricRating.rating_p``, ``RatedResult.compound_p``) and
nothing extra is shown when they are absent, so ELEx works with records of any age.
"""
from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

from mlel.base.environment import environment_label as _label
MAX_NAME_CHARS = 120  # model and environment names beyond this are cut: one log cannot stall a page


def _get(obj, name: str, default=None):
    """A field of a record (attribute) or of its JSON form (key)."""
    return obj.get(name, default) if isinstance(obj, Mapping) else getattr(obj, name, default)


def short_name(name: str, limit: int = MAX_NAME_CHARS) -> str:
    """``name`` cut to ``limit`` characters with an ellipsis (labels, legends and tables stay fast)."""
    name = str(name)
    return name if len(name) <= limit else name[:limit - 1] + "…"


_PLOTLY_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# what plotly's text renderer reads as markup: a tag (<b>, <a href=…>, <br>) or an entity (&lt;)
_PLOTLY_MARKUP = re.compile(r"<[^<>]*>|&(#\d+|#x[\da-f]+|[a-z]+);", re.IGNORECASE)


def plotly_text(text, limit: int = MAX_NAME_CHARS) -> str:
    """``text`` (a model or environment name, a reason quoting one) capped, as plotly must get it:
    where plotly would read markup in it, ``<`` ``>`` ``&`` as entities, so ``<a href>``, ``<b>``,
    ``<span style>`` or ``&lt;`` in a name read as typed in hover, legend, ticks and titles instead
    of rendering as a link or styled text (text without markup, "0.3 s < 2 s", is shown as it is
    already). The one helper every figure's text goes through."""
    text = short_name(text, limit)
    return text.translate(_PLOTLY_ENTITIES) if _PLOTLY_MARKUP.search(text) else text


def environment_label(environment: str, estimated: bool) -> str:
    """The environment as the CLI table shows it: "... (estimated)" where its energy is estimated
    (never twice: importers may already have named it so)."""
    return _label(short_name(environment), estimated)


def environment_labels(environments: Sequence[str], results: Sequence, env_code) -> tuple[str, ...]:
    """Display label per environment: estimated when any of its entries' energy is estimated."""
    estimated = [False] * len(environments)
    for code, result in zip(env_code.tolist(), results):
        if getattr(result, "estimated", False):
            estimated[code] = True
    return tuple(environment_label(env, est) for env, est in zip(environments, estimated))


def n_runs(entry) -> int:
    """How many runs an entry pools (the record's own count where it has one)."""
    count = getattr(entry, "n_runs", None)
    if isinstance(count, int) and not isinstance(count, bool) and count > 0:
        return count
    return max(1, len(getattr(entry, "logs", ()) or ()))


def _pair(raw) -> tuple[float, float] | None:
    if raw is None or isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or len(raw) != 2:
        low, high = getattr(raw, "low", None), getattr(raw, "high", None)
        if low is None or high is None:
            return None
        raw = (low, high)
    try:
        low, high = float(raw[0]), float(raw[1])
    except (TypeError, ValueError):
        return None
    return (low, high) if math.isfinite(low) and math.isfinite(high) and low <= high else None


def value_interval(entry, key: str, support: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """The 95% interval of one property's mean, or None (one run, a constant, or a record without
    one): the core's (log scale for positive quantities, logit for fractions), inside ``support``."""
    intervals = getattr(entry, "ci95", None)
    if isinstance(intervals, Mapping):
        return _pair(intervals.get(key))
    if n_runs(entry) < 2:
        return None
    present = [v for v in (run.get(key) for run in getattr(entry, "runs", ())) if v is not None and v == v]
    if len(present) < 2:
        return None
    from mlel.ratings.uncertainty import value_interval as core_interval  # as the CLI shows it

    return _pair(core_interval(present, support))


def index_interval(value: float, interval: tuple[float, float] | None, reference: float,
                   reference_interval: tuple[float, float] | None, higher_is_better: bool
                   ) -> tuple[float, float] | None:
    """The index's 95% interval from the value's and the reference's (relative half-widths added
    in quadrature on the log scale: the delta method for a ratio). None without a value interval."""
    if interval is None or not (value > 0 and reference > 0) or interval[0] <= 0:
        return None
    def half_log(low, high):
        return (math.log(high) - math.log(low)) / 2
    spread = half_log(*interval) ** 2
    if reference_interval is not None and reference_interval[0] > 0:
        spread += half_log(*reference_interval) ** 2
    index = value / reference if higher_is_better else reference / value
    width = math.sqrt(spread)
    return index * math.exp(-width), index * math.exp(width)


def not_graded(entry) -> str | None:
    """The reason an entry (a record or its JSON form) is not graded (it failed a validity gate), or None."""
    reason = _get(entry, "not_graded")
    if isinstance(reason, str) and reason:
        return short_name(reason, 300)
    if _get(entry, "graded", True) is False:
        why = _get(entry, "not_graded_reason") or "failed a validity check"
        return short_name(str(why), 300)
    return None


def not_rated(entry) -> str | None:
    """Why a graded entry (a record or its JSON form) has no compound level — no evidence under an
    honest scheme (no reference in its environment, a lone model, too few models) — or None."""
    reason = _get(entry, "not_rated")
    if isinstance(reason, str) and reason and not_graded(entry) is None:
        return short_name(reason, 300)
    return None


def wrapped(text: str, width: int = 70, limit: int = 300) -> str:
    """``text`` capped to ``limit`` characters, in lines of about ``width`` joined by "<br>" (a hover
    box stays narrow), escaped for plotly (:func:`plotly_text`)."""
    lines, line = [], ""
    for word in plotly_text(text, limit).split(" "):  # escaped whole: a tag split at a space is one still
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "<br>".join(lines + [line])


def probabilities(raw) -> dict[str, float] | None:
    """{"A": p, …} from a record's rating_p / compound_p (a mapping or five numbers), else None."""
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        pairs = [(str(k), raw[k]) for k in raw]
    elif isinstance(raw, Sequence) and not isinstance(raw, (str, bytes)) and len(raw) == 5:
        pairs = list(zip("ABCDE", raw))
    else:
        try:  # a numpy row
            pairs = list(zip("ABCDE", [float(p) for p in raw]))
        except TypeError:
            return None
    try:
        out = {letter: float(p) for letter, p in pairs}
    except (TypeError, ValueError):
        return None
    return out if out and all(math.isfinite(p) for p in out.values()) else None


def chance_text(letter: str, raw) -> str:
    """"B (87%)" where probabilities are known, else just the letter."""
    probs = probabilities(raw)
    if not probs or letter not in probs:
        return letter
    return f"{letter} ({probs[letter] * 100:.0f}%)"


__all__ = ["short_name", "plotly_text", "environment_label", "environment_labels", "n_runs", "value_interval",
           "index_interval", "not_graded", "not_rated", "wrapped", "probabilities", "chance_text", "MAX_NAME_CHARS"]
