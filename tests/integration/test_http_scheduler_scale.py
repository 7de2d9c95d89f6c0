"""1,000 HTTP frameworks subscribed at once to one master (LocalCluster in this process): every
one gets its SUBSCRIBED, the master holds them all without a thread each, and when their
connections drop every one of them is disconnected."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from benchmarks.http_api import hold_subscriptions
from frameworks.testing import LocalCluster
from tests.integration.http_support import wait_until

pytestmark = pytest.mark.integration

FRAMEWORKS = 1000


def test_a_thousand_http_frameworks_stream_at_once_without_a_thread_each() -> None:
    with LocalCluster(agents=1, resources="cpus:1;mem:512", allocation_interval=0.2) as cluster:
        port = int(cluster.http.rsplit(":", 1)[1])
        call = {"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "root", "name": "many"},
                                                   "suppressed_roles": ["*"]}}
        threads_before = threading.active_count()

        async def hold() -> tuple[int, int, int]:
            writers = await hold_subscriptions(port, FRAMEWORKS, "/api/v1/scheduler", call, timeout=90)
            try:
                held_threads = threading.active_count()
                state: dict[str, Any] = await asyncio.get_running_loop().run_in_executor(None, cluster.state)
                return len(writers), held_threads, sum(1 for f in state["frameworks"] if f["connected"])
            finally:
                for w in writers:
                    w.close()

        held, threads_held, connected = asyncio.run(hold())
        assert held == FRAMEWORKS
        assert connected == FRAMEWORKS
        assert threads_held <= threads_before + 2  # the run_in_executor worker; never one per stream

        # The closed streams disconnect their frameworks (failover_timeout 0: removed).
        wait_until(lambda: not any(f["connected"] for f in cluster.state()["frameworks"]),
                   "every framework disconnected", timeout=30)
