"""The static site without a browser: page names, escaping, unchanged input rewrites nothing, bad
input, and the differential test (an entry's page and JSON hold the numbers ``python -m
mlel.ratings --json`` prints for it)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mlel.export.cli import main as export_main
from mlel.publish.cli import main
from mlel.base.filenames import key_stem as page_name, unique_stems as unique_names
from mlel.publish.writer import MANIFEST
from tests.publish.conftest import HOSTILE, REPO

SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


# --- page names ---------------------------------------------------------------------------------

HOSTILE_KEYS = [("inference", "A100", "../x"), ("inference", "A100", "<script>alert(1)</script>"),
                ("inference", "A100", "Modèle ünïcødé ✓"), ("inference", "A100", "N" * 10_000),
                ("../../etc", "/abs/path", "..\\..\\win"), ("", "", ""), ("inference", "A100", "\x00\x1b[31m")]


def test_page_names_are_safe_short_and_stable():
    for key in HOSTILE_KEYS:
        name = page_name(key)
        assert SAFE_NAME.match(name), name
        assert len(name) <= 100 and ".." not in name and "/" not in name
        assert page_name(key) == name  # depends on the key alone
    # a fixed value: a URL published once keeps working in the next release
    assert page_name(("inference", "A100 x8 - PyTorch 1.10.2+cu113", "ResNet50")).startswith(
        "inference-a100-x8-pytorch-1.10.2-cu113-resnet50-")


def test_page_names_are_unique_whatever_the_order():
    keys = [("t", "e", "a/b"), ("t", "e", "a b"), ("t", "e", "A B"), ("t", "e", "a b"), ("t", "e", "a?b")]
    names = unique_names(keys)
    assert len({n.lower() for n in names}) == len(keys)
    assert names[0] != names[1] and names[1] != names[2]  # sanitised alike, told apart by the key's hash
    reordered = unique_names(list(reversed(keys)))
    assert sorted(reordered) == sorted(names)  # equal keys: -2 goes to the same text either way
    assert unique_names(keys[:2]) == names[:2]  # other entries coming or going change no name


# --- what the site holds ------------------------------------------------------------------------

class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.scripts = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "script":
            self.scripts.append(attrs.get("src") or attrs.get("type") or "inline")


def _links(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="session")
def rated(small_input) -> list[dict]:
    """What ``python -m mlel.ratings -d DIR --json`` prints: the oracle of the differential test."""
    proc = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(small_input), "--json"],
                          capture_output=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def _site_json(site: Path) -> dict[tuple, tuple[Path, dict]]:
    found = {}
    for path in (site / "entries").glob("*.json"):
        summary = json.loads(path.read_text())
        found[(summary["task"], summary["environment"], summary["entry"])] = (path, summary)
    return found


def test_entry_json_and_page_numbers_equal_the_ratings_json(site, rated):
    pages = _site_json(site)
    assert len(pages) == len(rated)
    for expected in rated:
        path, summary = pages[(expected["task"], expected["environment"], expected["entry"])]
        assert summary == expected
        html = path.with_suffix(".html").read_text(encoding="utf-8")
        for key, metric in expected["metrics"].items():
            row = re.search(rf'<tr data-key="{re.escape(key)}">(.*?)</tr>', html, re.S)
            assert row, f"{path.name}: no row of {key}"
            value = re.search(r'data-value="([^"]*)"', row.group(1)).group(1)
            index = re.search(r'data-index="([^"]*)"', row.group(1)).group(1)
            assert (float(value) if value else None) == metric["value"], (path.name, key)
            assert (float(index) if index else None) == metric["index"], (path.name, key)
            if metric["rating"] is not None:
                assert f'>{metric["rating"]}</span>' in row.group(1)  # the level as text
        if expected["compound"] is not None:
            assert re.search(rf'Compound rating: <span class="level level-\w+">{expected["compound"]}</span>', html)


def test_every_entry_is_reachable_from_the_index_by_links(site, rated):
    seen, todo = set(), [site / "index.html"]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        for href in _links(page).hrefs:
            target = (page.parent / href.split("#")[0]).resolve()
            if href.endswith(".html") and not href.startswith(("http:", "https:")):
                assert target.is_file(), f"{page.name} links to a missing {href}"
                assert site.resolve() in target.parents or target.parent == site.resolve()
                todo.append(target)
    entry_pages = {p.resolve() for p in (site / "entries").glob("*.html")}
    assert len(entry_pages) == len(rated)
    assert entry_pages <= seen


def test_hostile_names_are_text_everywhere(site):
    pages = list(site.rglob("*.html"))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "<script>alert" not in text, page.name
        assert not re.search(r'href="\.\./x"', text)
        # the only scripts: the site's own files and embedded JSON data
        assert set(_links(page).scripts) <= {"application/json", "../assets/plotly.min.js", "../assets/site.js",
                                            "assets/site.js", "assets/search-data.js"}, page.name
    escaped = [p for p in pages if "&lt;script&gt;alert(1)&lt;/script&gt;" in p.read_text(encoding="utf-8")]
    assert len(escaped) >= 2  # its own page and its task's page show the name, as typed
    for name in HOSTILE:
        assert any(name[:40] in p.read_text(encoding="utf-8") or name[:40].replace("<", "&lt;").replace(">", "&gt;")
                   in p.read_text(encoding="utf-8") for p in pages), name
    for path in (site / "entries").iterdir():
        assert SAFE_NAME.match(path.name) and path.parent == site / "entries"


def test_every_energy_figure_says_how_it_was_obtained(site):
    kinds = set()
    for path in (site / "entries").glob("*.html"):
        text = path.read_text(encoding="utf-8")
        said = re.search(r'class="source source-([a-z-]+)">([a-z ]+)</strong>', text)
        assert said, f"{path.name}: no word on how its energy was obtained"
        kinds.add(said.group(2))
        summary = json.loads(path.with_suffix(".json").read_text())
        if summary["energy"]["estimated"]:
            assert said.group(2) == "estimated"
    assert {"measured", "reported"} <= kinds
    if any((REPO / "results").glob("infer_*_pytorch_seed*.json")):
        assert "estimated" in kinds


def test_a_second_publish_rewrites_nothing(small_input, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["-d", str(small_input), "-o", str(out), "-q"]) == 0
    first = capsys.readouterr().out
    times = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert main(["-d", str(small_input), "-o", str(out), "-q"]) == 0
    second = capsys.readouterr().out
    assert re.search(r"\b0 written, \d+ unchanged", second), second
    assert re.search(r"\d+ written, 0 unchanged", first), first
    assert re.search(r"[\d.]+ MB in [\d.]+ s", second)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == times


def test_files_of_a_previous_publish_go_and_nothing_else(small_input, tmp_path, capsys):
    smaller = tmp_path / "in"
    smaller.mkdir()
    logs = sorted(small_input.glob("infer_2022_*.json"))
    for path in logs:
        (smaller / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "site"
    out.mkdir()
    (out / "mine.txt").write_text("not the site's")
    assert main(["-d", str(small_input), "-o", str(out), "-q"]) == 0
    before = len(list((out / "entries").iterdir()))
    assert main(["-d", str(smaller), "-o", str(out), "-q"]) == 0
    assert re.search(r", \d+ removed", capsys.readouterr().out)
    assert len(list((out / "entries").iterdir())) < before
    assert (out / "mine.txt").read_text() == "not the site's"
    listed = json.loads((out / MANIFEST).read_text())["files"]
    assert sorted(listed) == sorted(str(p.relative_to(out)) for p in out.rglob("*")
                                    if p.is_file() and p.name not in (MANIFEST, "mine.txt"))


@pytest.mark.parametrize("case", ["missing", "file", "output_is_file", "output_under_file", "output_is_input"])
def test_bad_input_is_a_clear_error(case, small_input, tmp_path, capsys):
    a_file = tmp_path / "a.txt"
    a_file.write_text("x")
    directory, out = str(small_input), str(tmp_path / "site")
    if case == "missing":
        directory = str(tmp_path / "nowhere")
    elif case == "file":
        directory = str(a_file)
    elif case == "output_is_file":
        out = str(a_file)
    elif case == "output_under_file":
        out = str(a_file / "site")
    else:
        out = directory
    assert main(["-d", directory, "-o", out, "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    named = {"missing": directory, "file": directory}.get(case, out if case != "output_under_file" else str(a_file))
    assert named in err
    assert not (tmp_path / "site").exists()


def test_nothing_to_publish_exits_1(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["-d", str(tmp_path / "empty"), "-o", str(tmp_path / "site"), "-q"]) == 1
    assert "nothing to publish" in capsys.readouterr().err


def test_the_command_runs_as_a_module_and_teaches_in_help():
    proc = subprocess.run([sys.executable, "-m", "mlel.publish", "--help"], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert proc.returncode == 0
    assert "python -m http.server" in proc.stdout and "Exit codes" in proc.stdout


def test_the_site_bundles_plotly_once_and_loads_nothing_from_outside(site):
    assert (site / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', text), page.name
    assert len(list(site.rglob("plotly*.js"))) == 1
    assert os.path.getsize(site / "assets" / "search-data.js") > 0


# --- one rating, one naming with the exports ------------------------------------------------------

def _few_logs(small_input: Path, folder: Path, count: int = 4) -> Path:
    """``count`` of the input's 2022 logs (one environment) in ``folder``."""
    folder.mkdir()
    for path in sorted(small_input.glob("infer_2022_*.json"))[:count]:
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def test_an_entry_page_and_its_boamps_report_share_one_stem(small_input, tmp_path):
    # one log in two directories: one key twice, told apart by -2 alike in both outputs
    first, second = _few_logs(small_input, tmp_path / "a", 2), _few_logs(small_input, tmp_path / "b", 1)
    site, reports = tmp_path / "site", tmp_path / "boamps"
    assert main(["-d", str(first), "-d", str(second), "-o", str(site), "-q"]) == 0
    assert export_main(["boamps", "-d", str(first), "-d", str(second), "-o", str(reports)]) == 0
    pages = sorted(p.stem for p in (site / "entries").glob("*.html"))
    assert len(pages) == 3 and sum(p.endswith("-2") for p in pages) == 1
    assert sorted(p.stem for p in reports.glob("*.json")) == pages


def test_the_rating_options_are_taken_as_the_ratings_cli_takes_them(small_input, tmp_path):
    folder = _few_logs(small_input, tmp_path / "in")
    model = json.loads(next(folder.glob("*.json")).read_text())["config"]["infer_model"]
    options = ["--scheme", "mlee-2022", "--reference", model, "--mode", "worst"]
    assert main(["-d", str(folder), "-o", str(tmp_path / "site"), "-q", *options]) == 0
    proc = subprocess.run([sys.executable, "-m", "mlel.ratings", "-d", str(folder), "--json", *options],
                          capture_output=True, cwd=REPO, timeout=120)
    expected = json.loads(proc.stdout)
    assert {s["scheme"] for s in expected} == {"mlee-2022"} and {s["reference"] for s in expected} == {model}
    pages = _site_json(tmp_path / "site")
    assert [pages[(s["task"], s["environment"], s["entry"])][1] for s in expected] == expected
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "<dt>Scheme</dt><dd>MLEE 2022</dd>" in html  # the scheme the pipeline used, shown


def test_an_unknown_reference_is_a_usage_error_naming_the_models(small_input, tmp_path, capsys):
    folder = _few_logs(small_input, tmp_path / "in", 1)
    assert main(["-d", str(folder), "-o", str(tmp_path / "site"), "-q", "--reference", "NoSuchNet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: reference model 'NoSuchNet' has no results in ") and str(folder) in err
    assert not (tmp_path / "site").exists()
