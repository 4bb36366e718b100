"""Headless Chromium for the dashboard tests: Debian's browser driven by Playwright.

Playwright must never download a browser here (no network for that): it drives
``/usr/bin/chromium``, which ``scripts/install-chromium.sh`` installs.
"""
from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("GRAPHENGINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

#: JavaScript: true once BokehJS has rendered at least one view of the page's document.
BOKEH_RENDERED = "() => window.Bokeh !== undefined && Object.keys(Bokeh.index).length > 0"

#: JavaScript: the values of column ``col`` of the data source named ``name``.
SOURCE_COLUMN = """([name, col]) => {
    for (const doc of Bokeh.documents) {
        const source = doc.get_model_by_name(name);
        if (source !== null) {
            const data = source.data;
            const values = data instanceof Map ? data.get(col) : data[col];
            return values === undefined ? null : Array.from(values);
        }
    }
    return null;
}"""


def launch_browser():
    """A Playwright browser on Debian's Chromium; skips with the reason when unavailable."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: scripts/install-chromium.sh installs "
                    "Debian's package")
    manager = sync_playwright().start()
    browser = manager.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    return manager, browser


class PageErrors:
    """JavaScript errors and console errors a page reported."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                if m.type == "error" else None)


def open_bokeh_page(browser, url: str, timeout_ms: int = 20_000):
    """Load ``url``, wait until Bokeh has drawn it; ``(page, PageErrors)``."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = PageErrors(page)
    page.goto(url, wait_until="load", timeout=timeout_ms)
    page.wait_for_function(BOKEH_RENDERED, timeout=timeout_ms)
    return page, errors


def source_column(page, name: str, col: str):
    return page.evaluate(SOURCE_COLUMN, [name, col])


#: JavaScript: true once column ``col`` of source ``name`` holds every value wanted.
SOURCE_HAS = """([name, col, wanted]) => {
    const source = Bokeh.documents[0].get_model_by_name(name);
    if (source === null) return false;
    const data = source.data;
    const values = data instanceof Map ? data.get(col) : data[col];
    const have = new Set(Array.from(values || []));
    return wanted.every(v => have.has(v));
}"""


def wait_for_values(page, name: str, col: str, wanted: list, timeout_ms: int = 10_000) -> None:
    """Wait until the page's source ``name`` shows every value of ``wanted`` in ``col``
    (it updates live, so this waits on the condition, not on a clock)."""
    page.wait_for_function(SOURCE_HAS, arg=[name, col, list(wanted)], timeout=timeout_ms)
