"""Shared fixtures: the 2022 reference logs (read from ../shared, never copied) and browser options."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE_RESULTS = SHARED / "reference" / "mlee-2022" / "results"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The 232 merged logs of the 2022 study."""
    if not REFERENCE_RESULTS.is_dir():
        pytest.fail(f"the 2022 reference logs are missing: expected {REFERENCE_RESULTS} "
                    "(the shared folder lies beside the repository)")
    return REFERENCE_RESULTS


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def pytest_setup_options():
    """dash_duo: Debian's headless Chromium, never a downloaded browser."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = os.environ.get("MLEL_CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--window-size=1400,1000"):
        options.add_argument(flag)
    return options
