"""One entry's page: its label (inline SVG: crisp at any zoom, its text selectable; and the PDF),
every metric with its interval, index, level and source, the energy and where it came from, the
files it was rated from, and its rated result as JSON (the bytes ``python -m mlel.ratings --json``
prints for it). Numbers are the rated summary's; the page formats them, the raw value rides along
in ``data-value`` (what the differential test compares)."""
from __future__ import annotations

import os
from collections.abc import Mapping

from mlel.base.formatting import NA, format_number, format_quantity
from mlel.base.io import dumps
from mlel.labels.content import estimate_error_pct, format_sources, label_content
from mlel.labels.levels import summary_levels
from mlel.labels.render import render_pdf
from mlel.labels.svg import render_svg
from mlel.labels import tiles
from mlel.tasks.properties import PropertySet
from mlel.tasks.schemes import builtin_schemes
from mlel.publish.markup import esc, level_badge, page, reference_text, short
from mlel.publish.site import ENTRY_FOLDER, GROUP_FOLDER, SiteEntry

DEPTH = 1  # entries/<name>.html



def _value_text(value, unit: str, prop) -> str:
    """The value in readable units; a missing one as its property says (``missing_text``)."""
    return prop.missing_text if value is None and prop is not None else format_quantity(value, unit)

def label_figure(content) -> str:
    """The label as HTML: an inline SVG (mlel.labels.svg). The one call site of the drawing."""
    return render_svg(content)


def energy_kind(summary: Mapping) -> str:
    """How the entry's energy was obtained, in one word: estimated / reported / measured / computed
    ("not known" where no source is named). Estimated wins: one estimated part makes the sum one."""
    energy = summary.get("energy") if isinstance(summary.get("energy"), Mapping) else {}
    sources = energy.get("sources") if isinstance(energy.get("sources"), Mapping) else {}
    words = {word for word in sources.values() if word in tiles.SOURCE_WORDS}
    if energy.get("estimated") or "estimated" in words:
        return "estimated"
    for word in ("reported", "measured", "computed"):
        if word in words:
            return word
    return "not known"


def is_energy(prop) -> bool:
    """Whether a property is an energy (or power) figure: its label tile is the power pictogram
    (``tiles.tile_kind`` decides by the unit; position 1 so that no position default says power)."""
    return tiles.tile_kind(prop, 1) == "power" or prop.unit.strip() in ("W", "kW", "mW")


def metric_source(summary: Mapping, key: str, prop) -> str:
    """The source word of one metric: the record's own (imported results name one per property),
    else, for an energy figure of a merged log, how its energy was obtained; "" where none is said."""
    own = tiles.property_source(summary, key)
    if own:
        return own
    return energy_kind(summary) if prop is not None and is_energy(prop) else ""


def grade_html(summary: Mapping, levels) -> str:
    """The compound level as text on its colour, with its probability; or why there is none."""
    if summary.get("compound") is not None:
        p = tiles.compound_probability(summary)
        note = "" if p is None else f"{100 * p:.0f} % likely"
        return f"Compound rating: {level_badge(summary['compound'], levels, note)}"
    if not summary.get("graded", True):
        return f"Not graded: {esc(tiles.not_graded_reason(summary) or 'failed a validity check')}"
    return f"Not rated: {esc(tiles.reason_text(summary.get('not_rated')) or 'no reason given')}"


def _raw(value) -> str:
    """A number as its exact text (Python's shortest round-trip form), for data attributes."""
    return "" if value is None else esc(repr(value))


def _metric_row(key: str, metric: Mapping, prop, summary: Mapping, levels, weight) -> str:
    unit = prop.unit if prop is not None else ""
    value, index, rating = metric.get("value"), metric.get("index"), metric.get("rating")
    odds = metric.get("rating_p") if isinstance(metric.get("rating_p"), Mapping) else {}
    p = odds.get(rating) if rating is not None else None
    note = f"{100 * p:.0f} %" if p is not None and (summary.get("n_runs") or 1) > 1 else ""
    why = metric.get("invalid") or metric.get("not_rated") or ""
    shown = level_badge(rating, levels, note) + (f' <span class="why">{esc(why)}</span>' if why else "")
    ci = metric.get("ci95")
    interval = tiles.interval_text(metric, unit).replace("95 % CI ", "") or "–"
    name = prop.name if prop is not None else key
    source = metric_source(summary, key, prop)
    cells = [f'{esc(name)} <span class="key">{esc(key)}</span>',
             f'<span data-value="{_raw(value)}">{esc(_value_text(value, unit, prop))}</span>',
             f'<span data-ci="{esc(dumps(ci, indent=False).decode())}">{esc(interval)}</span>',
             f'<span data-index="{_raw(index)}">{esc(format_number(index))}</span>',
             shown, esc(format_number(weight)) if weight is not None else "–", esc(source or "–")]
    numeric = (False, True, True, True, False, True, False)
    return (f'<tr data-key="{esc(key)}">' + "".join(f'<td{" class=num" if n else ""}>{c}</td>'
                                                    for c, n in zip(cells, numeric)) + "</tr>\n")


def metrics_table(entry: SiteEntry, prop_set: PropertySet | None) -> str:
    summary, record = entry.summary, entry.record
    levels = summary_levels(summary).labels
    metrics = summary.get("metrics") or {}
    keys = [k for k in (prop_set.keys if prop_set is not None else ()) if k in metrics]
    keys += [k for k in metrics if k not in keys]
    rows = "".join(_metric_row(k, metrics[k], prop_set.get(k) if prop_set is not None else None, summary, levels,
                               record.weights.get(k)) for k in keys)
    heads = ("Metric", "Value", "95 % interval", "Index", "Level", "Weight", "Source")
    head = "".join(f'<th scope="col"{" class=num" if h in ("Value", "95 % interval", "Index", "Weight") else ""}>'
                   f"{esc(h)}</th>" for h in heads)
    return (f'<table class="metrics"><caption>Every metric of {esc(short(record.name))}: value, 95 % interval '
            f"(several runs), index against the reference, level (and its probability), weight in the compound, "
            f"source</caption><thead><tr>{head}</tr></thead>\n<tbody>\n{rows}</tbody></table>")


def energy_html(summary: Mapping) -> str:
    energy = summary.get("energy") if isinstance(summary.get("energy"), Mapping) else {}
    named = energy.get("sources") if isinstance(energy.get("sources"), Mapping) else {}
    kind = energy_kind(summary)
    error = estimate_error_pct(energy, summary.get("environment", "")) if kind == "estimated" else None
    sources, _ = format_sources(named, kind == "estimated", error)
    total = energy.get("total_ws")
    rows = [("Energy figures are", f'<strong class="source source-{esc(kind.replace(" ", "-"))}">{esc(kind)}</strong>'),
            ("Total energy of the run(s)", f"{esc(format_quantity(total, 'Ws'))} ({esc(kind)})" if total is not None
             else esc(NA)),
            ("Sources", esc(sources) + "".join(f"<br><code>{esc(k)}</code>: {esc(v)}" for k, v in named.items())),
            ("Carbon", esc(format_quantity(energy.get("gco2e"), "g") + " CO2e") if energy.get("gco2e") is not None
             else esc(NA))]
    return "<dl class=facts>" + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def files_html(entry: SiteEntry) -> str:
    items = "".join(f"<li><code>{esc(os.path.join(entry.directory, name))}</code></li>"
                    for name in entry.summary.get("logs") or [])
    prov = entry.provenance
    said = ""
    if prov:
        said = ("<p>Imported result record of " + esc(prov.get("tool") or NA) +
                (f", from <code>{esc(prov.get('file'))}</code>" if prov.get("file") else "") +
                (f", row {esc(prov.get('row'))}" if prov.get("row") is not None else "") + ".</p>")
    return f"<ul class=files>{items}</ul>{said}"


def _facts(entry: SiteEntry, prop_set: PropertySet | None) -> str:
    summary, record = entry.summary, entry.record
    scheme = builtin_schemes().get(record.scheme)
    rows = [("Task", prop_set.display_name if prop_set is not None else record.task),
            ("Environment", summary.get("environment_label") or record.environment),
            ("Model", record.model), ("Dataset", summary.get("dataset") or NA),
            ("Backend", summary.get("backend") or NA),
            ("Scheme", scheme.title if scheme is not None else record.scheme or NA),
            ("Reference", reference_text(summary.get("reference"))), ("Compound mode", record.mode or NA),
            ("Runs", f"{summary.get('n_runs', 1)}: {summary.get('uncertainty', '')}")]
    rows += [(str(k), str(v)) for k, v in (summary.get("configuration") or {}).items()]
    for key, title in (("compound_rests_on", "Compound rests on"), ("boundaries_note", "Boundaries"),
                       ("window_unchecked", "Window not checked")):
        if summary.get(key):
            rows.append((title, tiles.reason_text(summary[key]) or str(summary[key])))
    rows += [("Invalid value", str(problem)) for problem in summary.get("problems") or ()]
    return "<dl class=facts>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows) + "</dl>"


def entry_files(entry: SiteEntry, prop_set: PropertySet | None) -> dict[str, bytes]:
    """{site path: bytes} of one entry: its page, its label's PDF and its rated result's JSON."""
    summary, record, stem = entry.summary, entry.record, entry.page
    levels = summary_levels(summary).labels
    files = {f"{ENTRY_FOLDER}/{stem}.json": dumps(summary)}
    try:
        content = label_content(entry.label_summary)
    except ValueError as error:  # a task without a label layout: the page says why, no label
        label = f"<p>No label: {esc(error)}</p>"
    else:
        files[f"{ENTRY_FOLDER}/{stem}.pdf"] = render_pdf(content)
        label = (f'<figure class="label">{label_figure(content)}<figcaption>The energy label '
                 f'(<a href="{esc(stem)}.pdf">PDF</a>)</figcaption></figure>')
    group = f"../{GROUP_FOLDER}/{entry.group}.html"
    task_name = prop_set.display_name if prop_set is not None else record.task
    body = (f'<p class="crumbs"><a href="../index.html">All tasks</a> › <a href="{esc(group)}">{esc(task_name)} · '
            f'{esc(summary.get("environment_label") or record.environment)}</a></p>\n'
            f'<p class="grade">{grade_html(summary, levels)}</p>\n'
            f'<p class="downloads"><a href="{esc(stem)}.json" download>Rated result (JSON)</a></p>\n'
            f'<div class="entry-grid"><section aria-labelledby="label-h"><h2 id="label-h">Label</h2>{label}</section>\n'
            f'<section aria-labelledby="facts-h"><h2 id="facts-h">What was rated</h2>{_facts(entry, prop_set)}'
            f'<h2 id="energy-h">Energy</h2>{energy_html(summary)}'
            f'<h2 id="files-h">Files</h2>{files_html(entry)}</section></div>\n'
            f'<section aria-labelledby="metrics-h"><h2 id="metrics-h">Metrics</h2>'
            f'<div class="scroll">{metrics_table(entry, prop_set)}</div></section>')
    title = f"{short(record.name)} ({record.task}, {short(record.environment)})"
    files[f"{ENTRY_FOLDER}/{stem}.html"] = page(title, body, DEPTH, heading=record.name)
    return files

