"""Several results directories rated as one (the site and the exports read them this way)."""
from __future__ import annotations

import shutil

import pytest

from mlel.base.errors import UsageError
from mlel.ratings.report import rate_directories, rate_directory


def _split(reference_dir, tmp_path):
    """The 2022 logs in two folders by environment (no entry spans both), and a bad file in the second."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    for path in sorted(reference_dir.glob("*.json")):
        shutil.copy(path, first if "A100" in path.read_text(errors="replace")[:4000] else second)
    (second / "broken.json").write_text("{")
    return first, second


def test_two_folders_rate_as_the_one_they_make_together(reference_dir, tmp_path):
    first, second = _split(reference_dir, tmp_path)
    together = rate_directory(reference_dir)
    split = rate_directories([first, second])
    assert sorted(map(repr, split.rated)) == sorted(map(repr, together.rated))  # same letters and indices
    assert {str(first), str(second)} == set(split.origins) and len(split.origins) == len(split.records)
    for record, origin in zip(split.records, split.origins):
        assert all((tmp_path / origin / name).is_file() for name in record.logs)
    assert [p.file for p in split.problems] == [str(second / "broken.json")]  # named with its folder


def test_a_folder_given_twice_is_refused(reference_dir, tmp_path):
    with pytest.raises(UsageError, match="given twice"):
        rate_directories([reference_dir, tmp_path, tmp_path / ".." / tmp_path.name])


def test_the_task_filter_keeps_each_records_origin(reference_dir):
    report = rate_directories([reference_dir], task="training")
    assert report.records and {r.task for r in report.records} == {"training"}
    assert report.origins == [str(reference_dir)] * len(report.records)
