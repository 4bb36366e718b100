"""What every page shares: the list of pages, the navigation bar, periodic updates."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bokeh.models import Div

from graphengine import config

__all__ = ["PAGES", "nav_bar", "add_updates", "update_interval_ms"]

logger = logging.getLogger(__name__)

#: path -> (title, what it shows), in the order of the navigation bar.
PAGES = {
    "/status": ("Status", "task stream, progress per task prefix, worker memory, tasks "
                          "processing"),
    "/workers": ("Workers", "a live table of every worker"),
    "/profile": ("Profile", "the cluster's statistical profile as a flame graph"),
    "/graph": ("Graph", "the current task graph, coloured by state"),
    "/system": ("System", "the scheduler's CPU, memory, event-loop latency, messages/s"),
}


def nav_bar(current: str) -> Div:
    links = " | ".join(
        f"<b>{title}</b>" if path == current else f'<a href="{path}">{title}</a>'
        for path, (title, _) in PAGES.items())
    return Div(text=f'<div style="font-family: sans-serif; padding: 4px 0">'
                    f'<b>graphengine</b> &mdash; {links}</div>', name="nav",
               sizing_mode="stretch_width")


def update_interval_ms() -> int:
    return max(int(float(config.get("scheduler.dashboard.update-interval")) * 1000), 50)


def add_updates(doc: Any, updates: list[Callable[[], None]],
                interval_ms: int | None = None) -> None:
    """Run ``updates`` every interval; one failing update is logged, not fatal."""
    def tick() -> None:
        for update in updates:
            try:
                update()
            except Exception:
                logger.exception("dashboard update %s failed", getattr(update, "__qualname__",
                                                                       update))
    tick()
    doc.add_periodic_callback(tick, interval_ms or update_interval_ms())
