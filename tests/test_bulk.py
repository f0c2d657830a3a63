"""mlel.base.bulk: the cyclic collector is paused inside the block and resumed after, as it was."""
from __future__ import annotations

import gc

import pytest

from mlel.base.bulk import collector_paused


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
    from mlel.ratings import report
    seen = []
    original = report.rate_entries
    monkeypatch.setattr(report, "rate_entries", lambda *a, **k: seen.append(gc.isenabled()) or original(*a, **k))
    assert report.rate_directory(reference_dir).records and seen == [False] and gc.isenabled()


class _Kept:  # a tracked object, to find among the collector's generations
    pass


def test_what_the_block_kept_goes_to_the_oldest_generation_unwalked():
    from mlel.base.bulk import KEPT_MANY
    with collector_paused():
        kept = [_Kept() for _ in range(KEPT_MANY)]
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(o) in oldest for o in kept)
    assert gc.get_count()[0] < 50  # the young generation does not hold them: no walk over them soon


def test_a_small_block_leaves_the_young_generation_alone():
    gc.collect()
    with collector_paused():
        kept = [_Kept() for _ in range(100)]
    young = {id(o) for o in gc.get_objects(generation=0)}
    assert all(id(o) in young for o in kept)


def test_a_programs_own_freeze_is_left_alone():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            _ = [_Kept() for _ in range(10)]
        assert gc.get_freeze_count() == frozen > 0
    finally:
        gc.unfreeze()


def test_the_first_block_of_a_process_sets_the_collectors_yardstick():
    import subprocess
    import sys
    code = ("import gc; gc.disable(); from mlel.base.bulk import collector_paused; "
            "before = gc.get_stats()[-1]['collections']; gc.enable()\n"
            "with collector_paused(): pass\n"
            "with collector_paused(): pass\n"
            "print(before, gc.get_stats()[-1]['collections'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "1"]  # one full collection, on the small heap, once
