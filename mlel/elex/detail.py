"""What ELEx shows of one entry and of the files it skipped: the selected model's summary (compound,
scheme, runs, notes, each metric with its interval, index and rating), the pinned line, and the
skipped files folded under the header."""
from __future__ import annotations

import json

from dash import html

from mlel.base.formatting import format_quantity
from mlel.tasks.properties import load_property_set
from mlel.ratings import RATING_COLORS, RATING_TEXT_COLORS, RATINGS, builtin_schemes
from mlel.elex.entries import chance_text, environment_label, not_graded, not_rated, short_name

PROBLEMS = "elex-problems"
MAX_PROBLEMS_SHOWN = 200

EMPTY_SUMMARY = html.P("Hover over a model to preview its label; click to pin it.", className="elex-muted")


def problems_view(problems) -> html.Details | None:
    """Skipped files by name with the reason (the first MAX_PROBLEMS_SHOWN), folded."""
    if not problems:
        return html.Div(id=PROBLEMS)
    items = [html.Li(short_name(str(p), 400)) for p in list(problems)[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        items.append(html.Li(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more"))
    return html.Details([html.Summary(f"{len(problems)} file(s) skipped"), html.Ul(items)],
                        id=PROBLEMS, className="elex-problems")


def _interval_text(metric: dict, unit: str) -> str:
    interval = metric.get("ci95")
    if not isinstance(interval, (list, tuple)) or len(interval) != 2 or None in interval:
        return ""
    return f"{format_quantity(interval[0], unit)} – {format_quantity(interval[1], unit)}"


NO_LEVEL_STYLE = {"background": "#dddddd", "color": "#555555"}  # no level: grey, never a rating colour


def _level(label, levels, probabilities=None) -> html.Span:
    """A level label in the colour of the letter at its place; "–" in grey where there is none."""
    if label is None:
        return html.Span("–", className="elex-rating elex-rating-none", style=NO_LEVEL_STYLE)
    letter = RATINGS[levels.index(label)] if label in levels else label
    style = ({"background": RATING_COLORS[letter], "color": RATING_TEXT_COLORS[letter]}
             if letter in RATING_COLORS else {})
    return html.Span(chance_text(str(label), probabilities), className=f"elex-rating elex-rating-{letter}",
                     style=style)  # the palette's one home, its letter in the colour that reads on it


def summary_view(summary: dict, preview: bool = False) -> list:
    """The selected model's summary: compound rating (with its probability where known; "–" and
    why, where there is none), the scheme, environment, runs and notes, then each metric (value,
    95% interval, index, rating, or why it has none)."""
    properties = load_property_set(summary["task"])
    levels = list(summary.get("levels") or RATINGS)
    resampled = "rating probabilities" in str(summary.get("uncertainty") or "")
    rows = [html.Tr([html.Th("metric"), html.Th("value"), html.Th("95% interval"), html.Th("index"),
                     html.Th("rating")])]
    for key, metric in summary["metrics"].items():
        value, index, prop = metric["value"], metric["index"], properties[key]
        why = metric.get("not_rated") if metric["rating"] is None else None
        why = None if why == "entry not rated" else why  # the entry's reason is said once, above
        rows.append(html.Tr([
            html.Td(prop.name), html.Td(prop.missing_text if value is None else format_quantity(value, prop.unit),
                    className="elex-value"),
            html.Td(_interval_text(metric, prop.unit) or "—", className="elex-value"),
            html.Td("—" if index is None else f"{index:.3f}"),
            html.Td([_level(metric["rating"], levels, metric.get("rating_p") if resampled else None)]
                    + ([html.Span(f" {short_name(str(why), 120)}", className="elex-small elex-muted")] if why else []),
                    title=str(why) if why else None)]))
    energy = summary.get("energy") or {}
    sources = ", ".join(f"{k} ({v})" for k, v in (energy.get("sources") or {}).items()) or "none"
    runs = summary.get("n_runs") or len(summary.get("logs") or ()) or 1
    notes = [f"{runs} runs" if runs > 1 else "1 run: no interval"]
    reason, unrated = not_graded(summary), not_rated(summary)
    if reason:
        notes.append(f"not graded: {reason}")
    if unrated:
        notes.append(f"not rated: {unrated}")
    for key in ("compound_rests_on", "boundaries_note"):
        if summary.get(key):
            notes.append(("compound rests on " if key == "compound_rests_on" else "") + short_name(str(summary[key]), 300))
    if summary.get("window_unchecked"):  # graded on the source's word: the gates had no window
        notes.append(short_name(str(summary["window_unchecked"]), 300))
    scheme = summary.get("scheme")
    return [  # a compound of None: not graded, or not rated
        html.H2([short_name(summary["model"]), " ",
                 _level(summary["compound"], levels, summary.get("compound_p") if resampled else None)]
                + ([html.Span(" preview — click to pin", className="elex-small elex-muted")] if preview else []),
                className="elex-summary-title"),
        html.Div(f"{summary['task']} · {environment_label(short_name(summary['environment']), bool(energy.get('estimated')))}"
                 f" · reference {short_name(str(summary['reference']))}"
                 + (f" · scheme {_scheme_title(scheme)}" if scheme else ""), className="elex-small"),
        html.Div(f"energy sources: {sources}" + (" — estimated" if energy.get("estimated") else ""),
                 className="elex-small elex-muted"),
        html.Div(" · ".join(notes), className="elex-small elex-runs" + (" elex-not-graded" if reason or unrated else "")),
        html.Table(rows, className="elex-summary-table"),
        html.Details([html.Summary("logs"), html.Pre(json.dumps(summary["logs"], indent=1))],
                     className="elex-small"),
    ]


def _scheme_title(name: str) -> str:
    scheme = builtin_schemes().get(name)
    return scheme.title if scheme else short_name(str(name), 60)


def pinned_view(selected) -> str:
    if not isinstance(selected, dict) or not selected.get("model"):
        return "Nothing pinned: click a point or a table row."
    return (f"Pinned: {short_name(str(selected['model']))} · {short_name(str(selected.get('environment')))}"
            " — the downloads below are of this model.")
