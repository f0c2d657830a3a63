"""The index (tasks and environments with counts, the method in brief, the search box), the method
page (each task's scheme, reference, mode, weights and boundaries in full) and the search data.
Every figure is read off the rated entries: what they were rated with, never a rule of its own."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from mlel.base.formatting import NA, format_number
from mlel.base.io import dumps
from mlel.ratings import DEFAULT_GATES
from mlel.ratings.engine import RATINGS
from mlel.tasks.schemes import builtin_schemes
from mlel.publish.markup import (ASSETS, SCRIPT, SEARCH_DATA, esc, level_badge, page, reference_text, table,
                                  task_anchor)
from mlel.publish.site import ENTRY_FOLDER, GROUP_FOLDER, SiteData, SiteEntry

MAX_PROBLEMS_SHOWN = 200


def _first(data: SiteData, task: str) -> SiteEntry:
    return data.groups_of(task)[0].entries[0]


def _shared_boundaries(entry: SiteEntry) -> Sequence[float] | None:
    """The boundaries every metric of the entry shares, or None where they differ by metric."""
    found = {tuple(b) for b in entry.record.boundaries.values()}
    return list(found.pop()) if len(found) == 1 else None


def boundaries_text(bounds: Sequence[float], levels: Sequence[str] = RATINGS) -> str:
    """ "A > 0.8 ≥ B > 0.6 ≥ C > 0.4 ≥ D > 0.2 ≥ E" (on the index)."""
    parts = [levels[0]]
    for bound, level in zip(bounds, levels[1:]):
        parts.append(f"> {format_number(bound)} ≥ {level}")
    return " ".join(parts)


def method_brief(data: SiteData, task: str) -> str:
    """Scheme, reference, mode, weights and boundaries of a task in a few lines."""
    entry = _first(data, task)
    record, props = entry.record, data.property_sets[task]
    scheme = builtin_schemes().get(record.scheme)
    weights = ", ".join(f"{props[k].name if props.get(k) else k} {format_number(w)}"
                        for k, w in record.weights.items() if w > 0) or NA
    shared = _shared_boundaries(entry)
    bounds = (f"{boundaries_text(shared, record.levels)} on every metric's index" if shared is not None
              else "per metric (see the method page)")
    return (f"<dl class=brief><dt>Scheme</dt><dd>{esc(scheme.title if scheme else record.scheme or NA)}</dd>"
            f"<dt>Reference</dt><dd>{esc(reference_text(entry.summary.get('reference')))}</dd>"
            f"<dt>Compound</dt><dd>{esc(record.mode or NA)}; weights: {esc(weights)}</dd>"
            f"<dt>Boundaries</dt><dd>{esc(bounds)}</dd></dl>")


def _environment_rows(data: SiteData, task: str) -> list[list[str]]:
    rows = []
    for group in data.groups_of(task):
        counts = Counter(e.record.compound for e in group.entries if e.record.compound is not None)
        unrated = sum(e.record.graded and e.record.compound is None for e in group.entries)
        ungraded = sum(not e.record.graded for e in group.entries)
        levels = group.entries[0].record.levels
        rows.append([f'<a href="{GROUP_FOLDER}/{esc(group.page)}.html">{esc(group.label)}</a>',
                     str(len(group.entries)), str(unrated), str(ungraded)]
                    + [f'{level_badge(levels[i], levels)} {counts.get(letter, 0)}' for i, letter in enumerate(RATINGS)])
    return rows


def _search_box() -> str:
    return ('<section aria-labelledby="search-h"><h2 id="search-h">Search</h2><div role="search">'
            '<label for="search">Model, task or environment</label> '
            '<input id="search" type="search" autocomplete="off" placeholder="e.g. ResNet50, A100, gpqa"> '
            '<span id="search-count" role="status" aria-live="polite"></span></div>'
            '<ul id="search-results" class="search-results"></ul>'
            "<noscript>The search needs JavaScript; every entry is reachable through the tables below.</noscript>"
            "</section>")


def _problems(data: SiteData) -> str:
    if not data.problems and not data.warnings:
        return ""
    items = "".join(f"<li><code>{esc(p.file)}</code>: {esc(p.reason)}</li>" for p in data.problems[:MAX_PROBLEMS_SHOWN])
    if len(data.problems) > MAX_PROBLEMS_SHOWN:
        items += f"<li>… and {len(data.problems) - MAX_PROBLEMS_SHOWN} more</li>"
    items += "".join(f"<li>warning: {esc(w)}</li>" for w in data.warnings)
    return (f'<section aria-labelledby="problems-h"><h2 id="problems-h">Files skipped, warnings</h2>'
            f"<ul class=problems>{items}</ul></section>")


def index_page(data: SiteData) -> dict[str, bytes]:
    """{site path: bytes}: the index and the search data it loads."""
    sections = []
    for task in data.tasks():
        props = data.property_sets[task]
        heads = ["Environment", "Entries", "Not rated", "Not graded"] + [f"Level {r}" for r in RATINGS]
        count = sum(len(g.entries) for g in data.groups_of(task))
        sections.append(f'<section aria-labelledby="{esc(task_anchor(task))}-h"><h2 id="{esc(task_anchor(task))}-h">'
                        f'{esc(props.display_name)} <span class="key">{esc(task)}</span></h2>'
                        f"<p>{count} entries in {len(data.groups_of(task))} environment(s). "
                        f'<a href="method.html#{esc(task_anchor(task))}">Method of {esc(props.display_name)}</a></p>'
                        f"{method_brief(data, task)}<div class=scroll>"
                        + table(heads, _environment_rows(data, task), caption=f"{props.display_name}: entries per "
                                "environment and compound level", numeric=[False] + [True] * 8) + "</div></section>")
    sources = ", ".join(f"<code>{esc(d)}</code>" for d in data.directories)
    body = (f"<p>{len(data.entries)} rated entries in {len(data.tasks())} task(s) and {len(data.groups)} "
            f"task–environment pair(s), from {sources}. Each task is rated under its own scheme, as "
            f"<code>python -m mlel.ratings</code> rates it; the <a href=\"method.html\">method page</a> has the "
            f"details.</p>{_search_box()}" + "".join(sections) + _problems(data))
    search = [[e.record.name, data.property_sets[e.record.task].display_name, e.summary["environment_label"],
               f"{ENTRY_FOLDER}/{e.page}.html", e.summary.get("compound") or ("not graded" if not e.record.graded
                                                                               else "not rated")]
              for e in data.entries]
    script = b"window.MLEE_SEARCH = " + dumps(search, indent=False) + b";\n"
    html = page("Results", body, 0, scripts=(f"{ASSETS}/{SEARCH_DATA}", f"{ASSETS}/{SCRIPT}"),
                heading="MLEE results: energy labels of ML models")
    return {"index.html": html, f"{ASSETS}/{SEARCH_DATA}": script}


def _property_rows(data: SiteData, task: str) -> list[list[str]]:
    entry, props = _first(data, task), data.property_sets[task]
    rows = []
    for prop in props.properties:
        bounds = entry.record.boundaries.get(prop.key)
        rows.append([f'{esc(prop.name)} <span class="key">{esc(prop.key)}</span>', esc(prop.unit),
                     "higher" if prop.higher_is_better else "lower", esc(prop.group),
                     esc(format_number(entry.record.weights.get(prop.key, 0.0))),
                     esc(boundaries_text(bounds, entry.record.levels)) if bounds else "none"])
    return rows


def method_page(data: SiteData) -> dict[str, bytes]:
    sections = []
    for task in data.tasks():
        entry, props = _first(data, task), data.property_sets[task]
        scheme = builtin_schemes().get(entry.record.scheme)
        notes = sorted({e.record.boundaries_note for g in data.groups_of(task) for e in g.entries
                        if e.record.boundaries_note})
        sections.append(
            f'<section aria-labelledby="{esc(task_anchor(task))}"><h2 id="{esc(task_anchor(task))}">'
            f"{esc(props.display_name)}</h2>"
            f"<p><strong>Scheme {esc(scheme.title if scheme else entry.record.scheme)}.</strong> "
            f"{esc(scheme.description if scheme else '')}</p>"
            f"<p>Reference: {esc(reference_text(entry.summary.get('reference')))}. "
            f"Compound: {esc(entry.record.mode or NA)} of the levels of "
            f"the metrics of weight &gt; 0. Levels, best first: {esc(', '.join(entry.record.levels))}.</p>"
            + "".join(f"<p>{esc(n)}</p>" for n in notes) + "<div class=scroll>"
            + table(["Metric", "Unit", "Better", "Group", "Weight", "Boundaries (index)"], _property_rows(data, task),
                    caption=f"{props.display_name}: what is rated, and how") + "</div></section>")
    gates = DEFAULT_GATES
    body = ("<p>An entry is one model in one configuration, task and environment; its runs are pooled. Each metric "
            "is indexed against the task's reference in the same environment (above 1 beats it), rated by the "
            "boundaries on that index, and the compound level combines the levels of the weighted metrics. With "
            "several runs each value has a 95 % interval and each level a probability. A run whose measurement "
            f"cannot carry a grade (a window under {format_number(gates.min_window_s)} s, fewer than "
            f"{gates.min_samples} power samples, samples covering under {format_number(100 * gates.min_coverage)} % "
            "of the window) is shown <em>not graded</em> with the reason; under an honest scheme (MLEE) an entry without "
            "the evidence for a level is <em>not rated</em>, never E. Every energy figure says whether it was measured, estimated or reported."
            "</p>" + "".join(sections))
    return {"method.html": page("Method", body, 0, heading="How the entries are rated")}
