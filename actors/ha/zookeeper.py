"""The kazoo shells of leader election: a detector (who leads?) and a contender (one candidacy).

Masters elect with MasterInfo in their znodes; a framework's instances
(frameworks/leadership.py) reuse the same code with ``parse=parse_json_info``.

This package is the one place that imports kazoo. Callbacks run on kazoo's
threads: hand work to an actor with ``Process.run``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import structlog
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
from kazoo.protocol.states import KazooState

from actors.ha.election import LABEL, Leader, Parse, ZkUrl, choose_leader, parse_master_info, parse_zk_url

__all__ = ["Contender", "LeaderDetector", "MasterContender", "MAX_WARNED", "connect", "zk_client"]

log = structlog.get_logger(__name__)
logging.getLogger("kazoo").setLevel(logging.WARNING)  # its INFO lines are per connection attempt

MAX_WARNED = 1000  # garbage znode names remembered so each is warned about once


def zk_client(url: ZkUrl, session_timeout: float) -> KazooClient:
    """A kazoo client for ``url``'s servers that retries connecting forever (not started)."""
    return KazooClient(hosts=url.hosts, timeout=session_timeout, connection_retry={"max_tries": -1, "max_delay": 1},
                       command_retry={"max_tries": 3, "max_delay": 1})


def connect(client: KazooClient, url: ZkUrl, timeout: float) -> None:
    """Start ``client``; RuntimeError naming the servers if no session within ``timeout`` s."""
    try:
        client.start(timeout=timeout)
    except Exception as e:
        client.stop()
        client.close()
        raise RuntimeError(f"cannot reach ZooKeeper at {url.hosts} within {timeout} s: {e}") from None


class LeaderDetector:
    """Watch the election under ``zk_url``'s path; ``on_change(leader or None)`` on each change of leader.

    ``start()`` connects (waits up to ``connect_timeout`` s; RuntimeError) and
    calls ``on_change`` with the current leader before returning.
    """

    def __init__(self, zk_url: str, on_change: Callable[[Leader | None], None], *, session_timeout: float = 10.0,
                 client: KazooClient | None = None, parse: Parse = parse_master_info) -> None:
        self.url = parse_zk_url(zk_url)
        self.on_change = on_change
        self.parse = parse
        self.session_timeout = session_timeout
        self.client = client or zk_client(self.url, session_timeout)
        self._own_client = client is None
        self._lock = threading.Lock()
        self._leader: Leader | None = None
        self._known = False
        self._warned: set[str] = set()
        self._stopped = False

    @property
    def leader(self) -> Leader | None:
        return self._leader

    def start(self, connect_timeout: float = 15.0) -> LeaderDetector:
        if self._own_client:
            connect(self.client, self.url, connect_timeout)
        self.client.ensure_path(self.url.path)
        self.client.ChildrenWatch(self.url.path, self._children)
        return self

    def stop(self) -> None:
        self._stopped = True
        if self._own_client:
            self.client.stop()
            self.client.close()

    def _children(self, names: list[str]) -> bool | None:
        if self._stopped:
            return False  # kazoo: stop watching
        data: dict[str, bytes | None] = {}
        for name in names:
            if name.startswith(LABEL):
                try:
                    data[name], _ = self.client.get(f"{self.url.path}/{name}")
                except NoNodeError:
                    data[name] = None
            else:
                data[name] = None
        leader, skipped = choose_leader(data, self.parse)
        with self._lock:
            for name, reason in skipped:
                if name not in self._warned:
                    if len(self._warned) >= MAX_WARNED:
                        self._warned.clear()
                    self._warned.add(name)
                    log.warning("election_znode_skipped", path=self.url.path, znode=name, reason=reason)
            changed = not self._known or (leader and leader.znode) != (self._leader and self._leader.znode)
            self._leader, self._known = leader, True
        if changed:
            log.info("leader_detected", path=self.url.path, leader=leader.pid if leader else None,
                     znode=leader.znode if leader else None)
            self.on_change(leader)
        return None


class Contender:
    """A candidacy: an ephemeral sequential ``json.info_`` znode holding ``info`` (a master's
    MasterInfo, or with ``parse=parse_json_info`` any JSON object).

    ``on_elected()`` once, when our znode is the lowest valid one;
    ``on_leader(leader)`` on every change of leader (for redirects);
    ``on_lost(reason)`` once, when the leader's session expires, or stays
    disconnected for ``session_timeout`` s, or its znode vanishes: leadership
    is over. A standby whose session expires joins again with a new znode.
    """

    def __init__(self, zk_url: str, info: bytes, *, on_elected: Callable[[], None],
                 on_leader: Callable[[Leader | None], None], on_lost: Callable[[str], None],
                 session_timeout: float = 10.0, parse: Parse = parse_master_info) -> None:
        self.url = parse_zk_url(zk_url)
        self.info = info
        self.on_elected = on_elected
        self.on_leader = on_leader
        self.on_lost = on_lost
        self.session_timeout = session_timeout
        self.client = zk_client(self.url, session_timeout)
        self.znode = ""
        self._elected = False
        self._lost = False
        self._expired = False
        self._lock = threading.Lock()
        self._expiry: threading.Timer | None = None
        self.detector = LeaderDetector(zk_url, self._leader_changed, session_timeout=session_timeout,
                                       client=self.client, parse=parse)

    def start(self, connect_timeout: float = 15.0) -> Contender:
        connect(self.client, self.url, connect_timeout)
        self.client.add_listener(self._state)
        self._join()
        self.detector.start()
        return self

    def _join(self) -> None:
        self.client.ensure_path(self.url.path)
        path = self.client.create(f"{self.url.path}/{LABEL}", self.info, ephemeral=True, sequence=True)
        self.znode = path.rsplit("/", 1)[1]
        log.info("election_joined", path=self.url.path, znode=self.znode)

    def _rejoin(self) -> None:
        """A standby whose session expired contends again with a new znode (as Mesos' masters do)."""
        try:
            self._join()
        except Exception as e:
            self._lose(f"cannot rejoin the election: {e}")

    def stop(self) -> None:
        """Withdraw (our znode goes with the session) and disconnect."""
        with self._lock:
            self._lost = True
            if self._expiry is not None:
                self._expiry.cancel()
        self.detector.stop()
        try:
            self.client.stop()
        finally:
            self.client.close()

    def _leader_changed(self, leader: Leader | None) -> None:
        if self._lost:
            return
        self.on_leader(leader)
        if leader is not None and leader.znode == self.znode and not self._elected:
            self._elected = True
            self.on_elected()
        elif self._elected and (leader is None or leader.znode != self.znode):
            self._lose("our election znode is gone")

    def _state(self, state: str) -> None:
        if state == KazooState.LOST:
            if self._elected:
                self._lose("ZooKeeper session expired")
            else:
                self._expired = True
                log.warning("election_session_expired", path=self.url.path, znode=self.znode)
        elif state == KazooState.SUSPENDED:
            with self._lock:
                if self._expiry is None and not self._lost and self._elected:
                    self._expiry = threading.Timer(
                        self.session_timeout, self._lose,
                        (f"disconnected from ZooKeeper for the session timeout ({self.session_timeout} s)",))
                    self._expiry.daemon = True
                    self._expiry.start()
        elif state == KazooState.CONNECTED:
            with self._lock:
                if self._expiry is not None:
                    self._expiry.cancel()
                    self._expiry = None
                rejoin, self._expired = self._expired and not self._lost, False
            if rejoin:  # not on kazoo's connection thread: create() waits for it
                threading.Thread(target=self._rejoin, name="election-rejoin", daemon=True).start()

    def _lose(self, reason: str) -> None:
        with self._lock:
            if self._lost:
                return
            self._lost = True
        log.error("leadership_lost" if self._elected else "candidacy_lost", path=self.url.path, znode=self.znode,
                  reason=reason)
        self.on_lost(reason)


MasterContender = Contender  # Mesos' name for a master's candidacy
