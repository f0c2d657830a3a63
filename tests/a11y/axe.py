"""axe-core in Chromium: inject the npm package's axe.min.js into a Selenium page and run it.

``make test`` installs axe-core with ``npm ci --prefix tests/a11y`` (package-lock.json pins it);
nothing is fetched from a CDN, so the page under test makes no request outside itself.
"""
from __future__ import annotations

from pathlib import Path

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations'], preload: false})
   .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                          nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))))
   .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));
"""


def axe_available() -> bool:
    return AXE_JS.is_file()


def axe_violations(driver, impacts: tuple[str, ...] = BLOCKING) -> list[dict]:
    """The page's axe violations of the given impacts (default: serious and critical)."""
    driver.set_script_timeout(60)
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    return [v for v in driver.execute_async_script(_RUN) if v["impact"] in impacts]


def describe(violations: list[dict]) -> str:
    """One line per violation, for an assertion message a person can act on."""
    return "\n".join(f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['nodes'])}" for v in violations)
