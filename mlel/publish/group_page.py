"""The page of one task in one environment: a sortable, filterable table of its entries (each a
link to its page) and the scatter on the rating background. The table is plain HTML (it reads
and its links work without script); ``site.js`` sorts it by ``data-sort`` and filters its rows."""
from __future__ import annotations

from mlel.base.formatting import NA, format_quantity
from mlel.labels import tiles
from mlel.labels.levels import summary_levels
from mlel.tasks.properties import PropertySet
from mlel.tasks.schemes import builtin_schemes
from mlel.publish.entry_page import metric_source
from mlel.publish.figure import scatter
from mlel.publish.markup import (ASSETS, PLOTLY, SCRIPT, esc, json_script, level_badge, page, reference_text,
                                  task_anchor)
from mlel.publish.site import ENTRY_FOLDER, GROUP_FOLDER, Group, SiteEntry

DEPTH = 1  # tasks/<name>.html
LEVEL_ORDER = {letter: i for i, letter in enumerate("ABCDE")}


def _sort_key(value) -> str:
    return "" if value is None else repr(value)


def _status(entry: SiteEntry) -> tuple[str, str]:
    """(the compound's letter or "", how the row's level reads)."""
    record = entry.record
    if record.compound is not None:
        return record.compound, "rated"
    return "", "not graded" if not record.graded else "not rated"


def _row(entry: SiteEntry, keys: list[str], prop_set: PropertySet) -> str:
    summary, record = entry.summary, entry.record
    levels = summary_levels(summary).labels
    letter, status = _status(entry)
    p = tiles.compound_probability(summary)
    note = "" if p is None else f"{100 * p:.0f} %"
    level = level_badge(summary.get("compound"), levels, note, none_text=status)
    cells = [f'<td data-sort="{esc(record.name.lower())}"><a href="../{ENTRY_FOLDER}/{esc(entry.page)}.html">'
             f"{esc(record.name)}</a></td>",
             f'<td data-sort="{LEVEL_ORDER.get(letter, 9)}">{level}</td>']
    for key in keys:
        metric = summary["metrics"].get(key) or {}
        value, unit = metric.get("value"), prop_set[key].unit
        source = metric_source(summary, key, prop_set[key])
        rating = metric.get("rating")
        shown = esc(prop_set[key].missing_text if value is None else format_quantity(value, unit))
        if source:
            shown += f' <span class="source">({esc(source)})</span>'
        if rating is not None:
            shown += " " + level_badge(rating, levels)
        cells.append(f'<td class="num" data-sort="{_sort_key(value)}">{shown}</td>')
    cells.append(f'<td class="num" data-sort="{summary.get("n_runs", 1)}">{summary.get("n_runs", 1)}</td>')
    return f'<tr data-level="{esc(letter or status)}">' + "".join(cells) + "</tr>\n"


def entries_table(group: Group, prop_set: PropertySet) -> str:
    keys = tiles.tile_keys(prop_set)
    heads = [("Entry", "text"), ("Compound level", "number")]
    heads += [(f"{prop_set[k].name} [{prop_set[k].unit}]", "number") for k in keys] + [("Runs", "number")]
    head = "".join(f'<th scope="col" aria-sort="none"><button type="button" class="sort" data-col="{i}" '
                   f'data-type="{kind}">{esc(name)}</button></th>' for i, (name, kind) in enumerate(heads))
    rows = "".join(_row(e, keys, prop_set) for e in group.entries)
    return (f'<table class="entries sortable" id="entries"><caption>{len(group.entries)} entries. Sort by a column '
            f"heading; each level is written out, its colour only repeats it.</caption>"
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}</tbody></table>")


def _filters() -> str:
    options = "".join(f'<option value="{v}">{t}</option>' for v, t in
                      [("", "all"), *[(c, c) for c in "ABCDE"], ("not rated", "not rated"),
                       ("not graded", "not graded")])
    return ('<div class="filters" role="search"><label for="filter">Filter entries</label> '
            '<input id="filter" type="search" data-table="entries" autocomplete="off" '
            'placeholder="name, value, level"> '
            f'<label for="level-filter">Compound level</label> <select id="level-filter" data-table="entries">'
            f'{options}</select> <span id="filter-count" role="status" aria-live="polite"></span></div>')


def group_page(group: Group, prop_set: PropertySet) -> dict[str, bytes]:
    """{site path: bytes} of the page."""
    figure, notes = scatter(group.entries, prop_set)
    first = group.entries[0]
    rated = sum(e.record.compound is not None for e in group.entries)
    summary = first.summary
    scheme = builtin_schemes().get(first.record.scheme)
    scheme_name = scheme.title if scheme else first.record.scheme or NA
    method = (f"Scheme: {esc(scheme_name)} · reference: {esc(reference_text(summary.get('reference')))} · "
              f"compound mode: {esc(first.record.mode or NA)} "
              f"(details: <a href=\"../method.html#{esc(task_anchor(group.task))}\">"
              "method</a>)")
    note_html = "".join(f"<li>{esc(n)}</li>" for n in notes)
    body = (f'<p class="crumbs"><a href="../index.html">All tasks</a> › {esc(prop_set.display_name)}</p>\n'
            f"<p>{len(group.entries)} entries, {rated} with a compound level. {method}.</p>\n"
            f'<section aria-labelledby="table-h"><h2 id="table-h">Entries</h2>{_filters()}'
            f'<div class="scroll">{entries_table(group, prop_set)}</div></section>\n'
            f'<section aria-labelledby="scatter-h"><h2 id="scatter-h">Scatter on the rating background</h2>'
            f"<p>Each point is an entry (click it to open its page; the table above has the same links). The "
            f"background's colour is the compound level of the two axes' levels; the legend names each level and "
            f"its symbol.</p>{f'<ul class=notes>{note_html}</ul>' if notes else ''}"
            f'<figure class="scatter-figure"><div id="scatter" class="scatter"></div><figcaption>The entries of '
            f"this task and environment on the rating background; the table above lists them all.</figcaption>"
            f'</figure>{json_script("scatter-data", figure)}</section>')
    title = f"{prop_set.display_name} · {group.label}"
    html = page(title, body, DEPTH, scripts=(f"{ASSETS}/{PLOTLY}", f"{ASSETS}/{SCRIPT}"), heading=title)
    return {f"{GROUP_FOLDER}/{group.page}.html": html}


__all__ = ["group_page", "entries_table"]
