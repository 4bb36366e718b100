"""Serving the dashboard: addresses, a busy port, the CLI flags, shutting down."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from graphengine.dashboard.server import parse_dashboard_address
from graphengine.scheduler.server import Scheduler

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("address, expected", [
    (":8787", ("10.1.2.3", 8787)), ("8787", ("10.1.2.3", 8787)), (8787, ("10.1.2.3", 8787)),
    ("0.0.0.0:0", ("0.0.0.0", 0)), ("http://127.0.0.1:9000", ("127.0.0.1", 9000)),
    ("[::1]:8787", ("::1", 8787)),
])
def test_dashboard_addresses(address, expected):
    assert parse_dashboard_address(address, "10.1.2.3") == expected


@pytest.mark.parametrize("address", ["127.0.0.1:http", ":99999", "nonsense"])
def test_a_bad_dashboard_address_is_named(address):
    with pytest.raises(ValueError, match="dashboard address"):
        parse_dashboard_address(address, "127.0.0.1")


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


def test_a_busy_port_falls_back_to_a_free_one_and_closing_stops_serving(caplog):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]

    async def main():
        async with Scheduler(dashboard_address=f"127.0.0.1:{port}") as s:
            link = s.dashboard_link
            status, text = await asyncio.get_running_loop().run_in_executor(
                None, _get, link.rsplit("/", 1)[0] + "/")
            await s.close()
        return link, status, text

    try:
        with caplog.at_level(logging.WARNING, logger="graphengine.dashboard"):
            link, status, text = asyncio.run(main())
    finally:
        taken.close()
    assert status == 200 and 'href="/status"' in text
    assert f":{port}/" not in link
    assert any(f"port {port} is in use" in r.getMessage() for r in caplog.records)
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        _get(link)


def test_no_dashboard_address_serves_none():
    async def main():
        async with Scheduler() as s:
            info = s.scheduler_info()
            await s.close()
            return s.dashboard_link, info["dashboard_address"]

    assert asyncio.run(main()) == (None, None)


def _scheduler_cli(*flags: str) -> tuple[subprocess.Popen, list[str]]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "graphengine.scheduler.cli", "--port", "0",
                             *flags], stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("graphengine-scheduler at"):
            break
    return proc, lines


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    return err


def test_the_cli_serves_the_dashboard_where_asked():
    proc, lines = _scheduler_cli("--dashboard-address", "127.0.0.1:0")
    try:
        line = proc.stderr.readline()
        assert line.startswith("dashboard at http://127.0.0.1:"), lines + [line]
        url = line.split(" at ", 1)[1].strip()
        status, text = _get(url.rsplit("/", 1)[0] + "/")
        assert status == 200 and 'href="/profile"' in text
    finally:
        _stop(proc)


def test_the_cli_serves_no_dashboard_with_no_dashboard():
    proc, lines = _scheduler_cli("--no-dashboard")
    err = _stop(proc)
    assert "dashboard at" not in "".join(lines) + err
