"""The web UI's pieces that need no browser: its assets ship in the package and
reach nothing outside it, the usage ring is bounded, and HttpServer.every runs
its jobs on the server's loop (failures logged, not fatal)."""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
import threading
from collections.abc import Awaitable, Callable

import pytest

from actors.master.usage_history import UsageHistory
from actors.master.webui import ASSETS, HERE
from transport.http import HttpServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _read(name: str) -> str:
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return f.read()


def test_every_asset_the_page_loads_is_shipped_as_package_data() -> None:
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    patterns = [p.strip() for p in config["options.package_data"]["actors.master.webui"].split(",")]
    assert {"index.html", "app.js", "style.css"} <= set(ASSETS)
    for name in ASSETS:
        assert any(fnmatch.fnmatch(name, p) for p in patterns), f"{name} is not package data"
    wanted = set(re.findall(r'(?:src|href)="/webui/([^"]+)"', _read("index.html")))
    for name in ASSETS:
        if name.endswith(".js"):
            wanted |= set(re.findall(r'from "\./([^"]+)"', _read(name)))
    assert wanted and wanted <= set(ASSETS), wanted - set(ASSETS)


def test_no_asset_reaches_outside_the_cluster() -> None:
    for name in ASSETS:
        text = _read(name).replace("http://www.w3.org/2000/svg", "")  # an XML namespace, never fetched
        assert not re.search(r"(https?:)?//[a-z0-9][a-z0-9.-]*\.[a-z]{2,}", text, re.I), name
        if name.endswith(".css"):
            assert "@import" not in text and "url(" not in text, name


def test_the_usage_ring_keeps_one_hour_and_splits_offered_from_used() -> None:
    history = UsageHistory(interval=10, span=3600)
    for i in range(1000):
        history.add(1_700_000_000 + 10 * i, {"master/cpus_total": 8, "master/cpus_used": 2,
                                            "allocator/mesos/resources/cpus/offered_or_allocated": 5})
    samples = history.to_json()["samples"]
    assert len(history) == len(samples) == 361
    assert samples[0]["time"] == 1_700_000_000 + 10 * 639 and samples[-1]["time"] == 1_700_000_000 + 10 * 999
    assert (samples[-1]["cpus_total"], samples[-1]["cpus_used"], samples[-1]["cpus_offered"]) == (8, 2, 3)
    assert samples[-1]["mem_total"] == 0.0
    with pytest.raises(ValueError, match="interval=0"):
        UsageHistory(interval=0)


def test_every_runs_jobs_before_and_after_start_and_survives_a_failing_one() -> None:
    server = HttpServer.bind("127.0.0.1", 0)
    counts = {"early": 0, "failing": 0, "late": 0}
    reached = {name: threading.Event() for name in counts}
    threads: set[str] = set()

    def job(name: str, fail: bool = False) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            threads.add(threading.current_thread().name)
            counts[name] += 1
            if counts[name] >= 3:
                reached[name].set()
            if fail:
                raise RuntimeError("boom")
        return run

    server.every(0.01, job("early"))
    server.every(0.01, job("failing", fail=True))
    server.start()
    try:
        server.every(0.01, job("late"))
        for name, event in reached.items():
            assert event.wait(10), f"{name} ran {counts[name]} times"
        assert threads == {server.name}  # on the server's loop thread
    finally:
        server.stop()
    with pytest.raises(ValueError, match="got 0"):
        server.every(0, job("early"))
