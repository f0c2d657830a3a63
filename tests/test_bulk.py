"""mlel.bulk: the cyclic collector is paused inside the block and resumed after, as it was."""
from __future__ import annotations

import gc

import pytest

from mlel.bulk import collector_paused


def test_the_collector_is_paused_in_the_block_and_resumed_after_even_on_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with collector_paused():
            assert not gc.isenabled()
            with collector_paused():  # nested: the inner block leaves it paused
                pass
            assert not gc.isenabled()
            raise RuntimeError
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_rating_a_directory_pauses_the_collector(monkeypatch, reference_dir):
    from mlel import report
    seen = []
    original = report.rate_entries
    monkeypatch.setattr(report, "rate_entries", lambda *a, **k: seen.append(gc.isenabled()) or original(*a, **k))
    assert report.rate_directory(reference_dir).records and seen == [False] and gc.isenabled()
