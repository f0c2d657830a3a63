"""HTML of the site: escaping, the page shell every page shares, and small pieces (a level badge,
embedded JSON). Every text from the input reaches a page through :func:`esc` (names can be hostile:
``<script>``, quotes, control characters)."""
from __future__ import annotations

import html
from collections.abc import Sequence

from mlel.base.filenames import key_stem
from mlel.base.formatting import visible_text
from mlel.base.io import dumps
from mlel.ratings.engine import RATINGS

SITE_TITLE = "MLEE results"
ASSETS = "assets"
STYLE, SCRIPT, PLOTLY, SEARCH_DATA = "site.css", "site.js", "plotly.min.js", "search-data.js"


def task_anchor(task: str) -> str:
    """The anchor of a task's section on the method page."""
    return "task-" + key_stem((task,))


def esc(text) -> str:
    """Text as HTML (also inside a quoted attribute): markup escaped, control characters shown."""
    return html.escape(visible_text("" if text is None else text), quote=True)


MAX_SHORT_CHARS = 120  # a name in a title or caption; the page's heading has it in full


def short(text, limit: int = MAX_SHORT_CHARS) -> str:
    """A name cut to ``limit`` characters ("…" where cut), for titles and captions."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def reference_text(reference: str | None) -> str:
    """What a summary's ``reference`` means, in words."""
    if reference == "best":
        return "the best model of each environment"
    if reference == "value":
        return "none: the values themselves are rated"
    if not reference:
        return "n.a."
    return f"{reference} (each index: this model's value against the reference's; above 1 beats it)"


def up(depth: int) -> str:
    """The relative prefix from a page ``depth`` folders down to the site's root."""
    return "../" * depth


def json_script(element_id: str, data) -> str:
    """Data for the page's script, embedded (no fetch: the site works from file://); ``<``, ``>``
    and ``&`` as JSON escapes, so no text of it can close the element."""
    raw = dumps(data, indent=False).decode("utf-8")
    raw = raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{esc(element_id)}">{raw}</script>'


def level_class(label: str | None, levels: Sequence[str] = RATINGS) -> str:
    """The CSS class of a level label ("A".."E", or a scheme's own "5".."1"): its letter's colour."""
    if label is None or label not in levels:
        return "level-none"
    return f"level-{RATINGS[list(levels).index(label)]}"


def level_badge(label: str | None, levels: Sequence[str] = RATINGS, note: str = "", none_text: str = "–") -> str:
    """A level as text on its colour (the colour never alone: the label is the text); ``note``
    (e.g. "87 %") after it; ``none_text`` where there is no level."""
    shown = label if label is not None else none_text
    extra = f' <span class="level-note">{esc(note)}</span>' if note else ""
    return f'<span class="level {level_class(label, levels)}">{esc(shown)}</span>{extra}'


def page(title: str, body: str, depth: int, *, scripts: Sequence[str] = (), heading: str | None = None) -> bytes:
    """A whole page: ``body`` inside the shared shell (navigation, skip link, stylesheet); ``scripts``:
    site-relative paths of the scripts it loads, after the body."""
    root = up(depth)
    tags = "".join(f'<script src="{esc(root + path)}"></script>' for path in scripts)
    shown = esc(heading if heading is not None else title)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} · {SITE_TITLE}</title>\n"
        '<link rel="icon" href="data:,">\n'
        f'<link rel="stylesheet" href="{root}{ASSETS}/{STYLE}">\n</head>\n<body>\n'
        '<a class="skip" href="#main">Skip to content</a>\n'
        f'<header><nav aria-label="Site"><a href="{root}index.html">{SITE_TITLE}</a> · '
        f'<a href="{root}method.html">Method</a></nav></header>\n'
        f'<main id="main">\n<h1>{shown}</h1>\n{body}\n</main>\n'
        '<footer>Made by <code>python -m mlel.publish</code>: every number is what the MLEE ratings '
        'pipeline computed (<code>python -m mlel.ratings</code>).</footer>\n'
        f"{tags}\n</body>\n</html>\n").encode("utf-8")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, caption: str = "", css: str = "",
          numeric: Sequence[bool] = ()) -> str:
    """A plain table; ``headers`` are text (escaped here), each row's cells ready HTML."""
    numeric = list(numeric) + [False] * (len(headers) - len(numeric))
    head = "".join(f'<th scope="col"{" class=num" if n else ""}>{esc(h)}</th>' for h, n in zip(headers, numeric))
    body = "".join("<tr>" + "".join(f'<td{" class=num" if n else ""}>{cell}</td>'
                                    for cell, n in zip(row, numeric)) + "</tr>\n" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table class="{esc(css)}">{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>'
