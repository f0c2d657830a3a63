"""Every file of the site, as (site path, bytes) pairs, made one at a time (a site of 2,000 entries
is never held in memory at once): the assets (plotly.js copied from the installed plotly package,
the site's own script and stylesheet), the index and method pages, one page per task and
environment, and each entry's page, label PDF and JSON."""
from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

from mlel.publish.entry_page import entry_files
from mlel.publish.group_page import group_page
from mlel.publish.index_page import index_page, method_page
from mlel.publish.markup import ASSETS, PLOTLY, SCRIPT, STYLE
from mlel.publish.site import SiteData

OWN_ASSETS = (SCRIPT, STYLE)


def plotly_js() -> bytes:
    """The plotly.js bundle of the installed plotly package: the site makes no request outside itself."""
    return (resources.files("plotly") / "package_data" / PLOTLY).read_bytes()


def asset_files() -> dict[str, bytes]:
    files = {f"{ASSETS}/{name}": (resources.files("mlel.publish") / "assets" / name).read_bytes()
             for name in OWN_ASSETS}
    files[f"{ASSETS}/{PLOTLY}"] = plotly_js()
    return files


def file_count(data: SiteData) -> int:
    """How many files :func:`site_files` yields at most (the progress bar's total): each entry's
    page, PDF and JSON, each group's page, the index, its search data, the method page, the assets."""
    return 3 * len(data.entries) + len(data.groups) + 3 + len(OWN_ASSETS) + 1


def site_files(data: SiteData) -> Iterator[tuple[str, bytes]]:
    yield from asset_files().items()
    yield from index_page(data).items()
    yield from method_page(data).items()
    for group in data.groups:
        yield from group_page(group, data.property_sets[group.task]).items()
    for entry in data.entries:
        yield from entry_files(entry, data.property_sets.get(entry.record.task)).items()
