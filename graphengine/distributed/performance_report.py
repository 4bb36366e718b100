"""``performance_report``: record what the cluster did during a block, as a standalone
HTML file.

    >>> with performance_report(filename="report.html"):     # doctest: +SKIP
    ...     x.sum().compute()

The file holds the task stream, progress per task prefix, cluster memory over time and
the statistical profile of the block, drawn with the dashboard's own figures, and opens
in a browser with no server (BokehJS is inlined).
"""
from __future__ import annotations

import time
from typing import Any

__all__ = ["performance_report"]


class performance_report:  # noqa: N801 - a context manager named like Dask's
    """Record the block's activity on the default (or given) client into ``filename``.

    Works as ``with`` and, with an asynchronous client, ``async with``.

    Parameters
    ----------
    filename : str
        Where to write the HTML report.
    client : Client, optional
        Default: the current default client.
    title : str
    """

    def __init__(self, filename: str = "graphengine-report.html", client: Any = None,
                 title: str = "graphengine performance report"):
        self.filename = filename
        self.title = title
        self._client = client
        self.start: float | None = None

    def _get_client(self) -> Any:
        if self._client is None:
            from graphengine.distributed.client import default_client

            self._client = default_client()  # ValueError when there is none
        return self._client

    async def _write(self) -> None:
        from graphengine.dashboard.report import performance_report_html

        client = self._get_client()
        data = await client._rpc_scheduler("performance_data", start=self.start,
                                           stop=time.time())
        text = performance_report_html(data, self.title)
        with open(self.filename, "w", encoding="utf-8") as f:
            f.write(text)

    def __enter__(self) -> "performance_report":
        self._get_client()
        self.start = time.time()
        return self

    def __exit__(self, *exc: object) -> None:
        self._client._sync(self._write)

    async def __aenter__(self) -> "performance_report":
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        await self._write()
