"""ELEx fixtures: the 2022 logs loaded once per session (reading them is the slow part)."""
from __future__ import annotations

import pytest

from mlel.elex.session import default_settings
from mlel.elex.state import ElexData


@pytest.fixture(scope="session")
def elex_data(reference_dir) -> ElexData:
    return ElexData.load(reference_dir)


@pytest.fixture
def settings(elex_data) -> dict:
    return default_settings(elex_data)
