"""One leader among the instances of a framework service (Marathon, Chronos), through ZooKeeper.

The same election as the masters' (actors/ha/zookeeper.py): each instance
holds an ephemeral sequential ``json.info_`` znode under ``<zk path>/leader``
holding its ``me`` dict as JSON; the lowest sequence leads. Without ``zk`` the
instance is the only one and is elected in ``start()``.

``on_elected()`` is called once when this instance becomes the leader;
``on_lost(reason)`` once when its leadership (or candidacy) ends: its session
expired, it was cut off from ZooKeeper for the session timeout, or its znode
went away. A service should then stop acting as leader (Marathon exits and is
restarted). Both run on one thread of the Leadership's own, in order, never on
kazoo's threads, so they may block or call back into ZooKeeper.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from typing import Any

import structlog

from actors.ha import Contender, Leader, parse_json_info, parse_zk_url

__all__ = ["ELECTION_ZNODE", "Leadership"]

log = structlog.get_logger(__name__)
ELECTION_ZNODE = "leader"  # under the service's zk path, beside its state store's znode


class Leadership:
    """The standing of one instance: ``start()``, then ``is_leader`` and ``leader()``."""

    def __init__(self, zk: str | None, me: dict[str, Any], *, on_elected: Callable[[], None],
                 on_lost: Callable[[str], None], session_timeout: float = 10.0) -> None:
        self.me = dict(me)
        self._on_elected = on_elected
        self._on_lost = on_lost
        self._elected = False
        self._lost = False
        self._leader: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._calls: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self.contender: Contender | None = None
        if zk:
            url = parse_zk_url(zk)
            self.contender = Contender(f"zk://{url.hosts}{url.path}/{ELECTION_ZNODE}",
                                       json.dumps(self.me, sort_keys=True).encode(), parse=parse_json_info,
                                       session_timeout=session_timeout, on_elected=self._elected_now,
                                       on_leader=self._leader_now, on_lost=self._lost_now)

    @property
    def is_leader(self) -> bool:
        with self._lock:
            return self._elected and not self._lost

    def leader(self) -> dict[str, Any] | None:
        """The leading instance's ``me`` (ours while we lead); None while no leader is known."""
        with self._lock:
            return None if self._leader is None else dict(self._leader)

    def leader_address(self) -> str | None:
        """The leading instance's ``host:http_port`` (its REST API); None while no leader is known."""
        leader = self.leader()
        return f"{leader['host']}:{leader['http_port']}" if leader else None

    def start(self, connect_timeout: float = 15.0) -> Leadership:
        """Join the election (RuntimeError naming the servers if ZooKeeper cannot be reached)."""
        self._worker = threading.Thread(target=self._run_calls, name="leadership", daemon=True)
        self._worker.start()
        if self.contender is None:
            self._leader_now(None)
            self._elected_now()
        else:
            try:
                self.contender.start(connect_timeout)
            except BaseException:
                self._calls.put(None)
                raise
        return self

    def stop(self) -> None:
        """Withdraw from the election (the znode goes with the session); no callback after this."""
        with self._lock:
            self._lost = True
        if self.contender is not None:
            self.contender.stop()
        self._calls.put(None)
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(5.0)

    # --- the election's callbacks (kazoo's threads): record, then hand to our thread ---------

    def _leader_now(self, leader: Leader | None) -> None:
        with self._lock:
            if self.contender is None:
                self._leader = self.me
            else:
                self._leader = None if leader is None else leader.info

    def _elected_now(self) -> None:
        with self._lock:
            if self._lost:
                return
            self._elected = True
        log.info("framework_elected", me=self.me)
        self._calls.put(self._on_elected)

    def _lost_now(self, reason: str) -> None:
        with self._lock:
            if self._lost:
                return
            self._lost = True
        self._calls.put(lambda: self._on_lost(reason))

    def _run_calls(self) -> None:
        while (call := self._calls.get()) is not None:
            try:
                call()
            except Exception:
                log.exception("leadership_callback_failed")
