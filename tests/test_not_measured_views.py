"""One wording for a value a run did not measure (issue 28): every view says "not measured" for a
Trust property of a run without ``infer.py --trust`` (the 2022 logs), and "n.a." for any other gap —
the rule is ``Property.missing_text``, and this test reads it back from each view."""
from __future__ import annotations

import math
import shutil

from mlel.base.formatting import NA
from mlel.elex.detail import summary_view
from mlel.elex.table import column_texts
from mlel.publish.cli import main as publish_main
from mlel.ratings.cli import ratings_main
from mlel.ratings.report import rate_directory
from mlel.tasks.properties import NOT_MEASURED, TRUST_GROUP, load_property_set

INFERENCE = load_property_set("inference")
TRUST = INFERENCE.group_keys(TRUST_GROUP)


def _texts(component) -> list[str]:
    """Every string in a Dash component tree, in order."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, (list, tuple)):
        return [t for c in component for t in _texts(c)]
    children = getattr(component, "children", None)
    return _texts(children) if children is not None else []


def test_the_rule():
    assert TRUST and all(INFERENCE[key].missing_text == NOT_MEASURED for key in TRUST)
    assert INFERENCE["top1_val"].missing_text == NA
    assert column_texts(INFERENCE["ece"], [math.nan]) == [NOT_MEASURED]  # ELEx's table and grid
    assert column_texts(INFERENCE["top1_val"], [math.nan]) == [NA]


def test_every_view_says_not_measured_for_the_2022_logs(reference_dir, tmp_path, capsys):
    folder = tmp_path / "logs"
    folder.mkdir()
    for path in sorted(reference_dir.glob("infer_*.json"))[:6]:
        shutil.copy(path, folder / path.name)
    summary = next(s for s in rate_directory(folder).rated if s["task"] == "inference")
    names = [INFERENCE[key].name for key in TRUST]

    shown = _texts(summary_view(summary))  # ELEx's detail table: name, then its value
    for name in names:
        assert shown[shown.index(name) + 1] == NOT_MEASURED, name

    assert ratings_main(["--directory", str(folder), "--wide"]) in (0, 1)  # the CLI table
    assert NOT_MEASURED in capsys.readouterr().out

    assert publish_main(["-d", str(folder), "-o", str(tmp_path / "site")]) == 0  # the site's entry page
    page = next((tmp_path / "site" / "entries").glob("*.html")).read_text()
    assert page.count(f">{NOT_MEASURED}</span>") == len(TRUST)
