"""The built-in property sets of the new tasks load with the project's loader and are well formed."""
from __future__ import annotations

import pytest

from mlel.importers.property_units import parse_unit
from mlel.base.io import read_json
from mlel.tasks.properties import TASKS_DIR, load_property_set

NEW_TASKS = ("lm-arena-chat", "gpqa", "sourcegraph-fim", "image-chat", "video-chat", "text-to-image",
             "text-to-video", "generic")


@pytest.mark.parametrize("task", NEW_TASKS)
def test_task_file_loads_with_four_weighted_tiles_and_readable_units(task):
    property_set = load_property_set(task)
    assert property_set.task == task
    assert len(property_set.label_tiles) == 4
    for key in property_set.label_tiles:
        assert property_set[key].weight > 0, key
    for prop in property_set.properties:
        parse_unit(prop.unit)  # every unit converts with the importers' units
        b = prop.boundaries
        assert b is not None and b[0] > b[1] > b[2] >= b[3], prop.key
    assert "2022" in read_json(TASKS_DIR / f"{task}.json")["notes"]  # where the boundaries came from


def test_precision_is_a_tag_not_a_property():
    for task in NEW_TASKS:
        assert not any("precision" in key for key in load_property_set(task).keys)
