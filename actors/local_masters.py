"""Several masters in one OS process, electing a leader through ZooKeeper (``LocalCluster(masters=3, zk=...)``).

Each master has a node of its own (its own loopback port, so its own
``master@127.0.0.1:port`` pid) and, with HTTP, its own HTTP server; they elect
through the ZooKeeper URL as separate ``mesopy-master`` processes would, and
agents and drivers follow the leader through that URL.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import pykka
import structlog

from actors.clock import Clock
from actors.master.config import MasterConfig
from actors.node import Node
from transport.curve import CurveKeys
from transport.http import HttpServer
from transport.pid import PID

__all__ = ["LocalMasters", "zk_url_of"]

log = structlog.get_logger(__name__)


def zk_url_of(zk: Any) -> str:
    """``zk`` as a ``zk://`` URL: a URL as is, a ``ZooKeeperServer`` as its ``url("/mesos")``."""
    if isinstance(zk, str):
        if not zk.startswith("zk://"):
            raise ValueError(f"zk must be a zk://host:port/path URL or a ZooKeeperServer, got {zk!r}")
        return zk
    url = getattr(zk, "url", None)
    if callable(url):
        return str(url("/mesos"))
    raise ValueError(f"zk must be a zk://host:port/path URL or a ZooKeeperServer, got {zk!r}")


class LocalMasters:
    """``count`` masters with ``config`` (its ``zk`` set), each on a node of its own; index 0..count-1."""

    def __init__(self, count: int, config: MasterConfig, *, clock: Clock | None, http: bool,
                 ask: Callable[[PID, float], dict[str, Any]], curve: CurveKeys | None = None) -> None:
        """``ask(pid, timeout)``: that master's state (to find who leads); ``curve``: the key pair
        every master's node encrypts its links with (the masters of one cluster share one)."""
        if count < 1:
            raise ValueError(f"masters must be >= 1, got {count!r}")
        self.count = count
        self.config = config
        self.clock = clock
        self.http_enabled = http
        self.nodes: list[Node | None] = [None] * count
        self.https: list[HttpServer | None] = [None] * count
        self.refs: list[pykka.ActorRef[Any] | None] = [None] * count
        self.ask = ask
        self.curve = curve
        self._leader: int | None = None

    def start(self) -> None:
        for i in range(self.count):
            self.start_master(i)

    def start_master(self, index: int) -> None:
        """Start master ``index`` (a standby until elected) on a fresh node and port."""
        from actors.master import spawn_master

        if self.nodes[index] is not None:
            raise RuntimeError(f"master {index} is already running")
        node = Node("127.0.0.1", 0, clock=self.clock, curve=self.curve).start()
        try:
            http = HttpServer.bind("127.0.0.1", 0, f"master-{index}-http") if self.http_enabled else None
            config = dataclasses.replace(self.config, port=node.port)
            self.refs[index] = spawn_master(node, config, http)
            if http is not None:
                http.start()
            self.https[index] = http
        except BaseException:
            node.stop()
            raise
        self.nodes[index] = node
        log.info("local_master_started", index=index, pid=str(node.pid("master")), zk=self.config.zk)

    def stop_master(self, index: int) -> None:
        """Stop master ``index``: its node closes (its peers see it exit) and its candidacy ends."""
        node, self.nodes[index] = self.nodes[index], None
        http, self.https[index] = self.https[index], None
        self.refs[index] = None
        if http is not None:
            http.stop()
        if node is not None:
            node.stop()
            log.info("local_master_stopped", index=index)

    def stop(self) -> None:
        for i in range(self.count):
            self.stop_master(i)

    def running(self, index: int) -> bool:
        return self.nodes[index] is not None

    def pid(self, index: int) -> PID | None:
        node = self.nodes[index]
        return node.pid("master") if node is not None else None

    def http_url(self, index: int) -> str | None:
        http = self.https[index]
        return http.url() if http is not None else None

    def leader(self, timeout: float = 0.0) -> int:
        """The index of the master whose state says it leads (the last one found is asked first),
        waiting up to ``timeout`` s for one; RuntimeError when none does."""
        pause, waited = threading.Event(), 0.0
        while True:
            hint = self._leader
            for i in ([hint] if hint is not None else []) + [i for i in range(self.count) if i != hint]:
                pid = self.pid(i)
                try:
                    if pid is not None and self.ask(pid, 2.0).get("leading"):
                        self._leader = i
                        return i
                except Exception as e:  # a master stopping, or not answering in time: ask the next
                    log.debug("local_master_unanswered", index=i, error=str(e))
            if waited >= timeout:
                raise RuntimeError(f"no master leads (waited {timeout} s)")
            pause.wait(0.05)
            waited += 0.05

    def leader_pid(self) -> PID:
        pid = self.pid(self.leader())
        assert pid is not None
        return pid
