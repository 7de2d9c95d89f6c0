"""A master's standing in the ZooKeeper election (``--zk``): standby or leading, and who leads.

Without ``--zk`` a master leads from the start. With it, the master runs as a
standby until its candidacy is elected: a standby answers every registration
with ``MasterRedirect`` to the leader it knows (never silently) and drops other
messages with a log line. A leader whose candidacy is lost stops leading at
once: ``on_lost(reason)`` (mesopy-master exits non-zero, as Mesos does).
Once elected, the master reads the registry from ``registry`` (a
``RegistryStore`` on the same ZooKeeper session) and writes it there.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from actors.ha import Leader, MasterContender, RegistryStore, master_info
from actors.version import MESOS_VERSION
from transport.messages import (
    Authenticate,
    MasterRedirect,
    RegisterAgent,
    RegisterFramework,
    ReregisterAgent,
    ReregisterFramework,
)
from transport.schema import Message

__all__ = ["Leadership", "REGISTRATIONS"]

REGISTRATIONS = (RegisterAgent, ReregisterAgent, RegisterFramework, ReregisterFramework, Authenticate)  # redirected by a standby


class Leadership:
    """The election as seen by one master. ``run`` hands a callable to the master's actor thread."""

    def __init__(self, zk: str, session_timeout: float, *, master_id: str, pid: str, hostname: str,
                 run: Callable[..., None], on_elected: Callable[[], None], on_lost: Callable[[str], None],
                 http_port: int | None = None, curve_public_key: bytes = b"") -> None:
        self.zk = zk
        self.leading = False
        self.leader: str = ""  # the leading master's pid text, "" while none is known
        self._leader_info: dict[str, Any] = {}  # its MasterInfo (HTTP ``address``) as the election has it
        self.lost = ""
        self._run = run
        self._on_elected = on_elected
        self._on_lost = on_lost
        info = master_info(master_id, pid, hostname or socket.gethostname(), MESOS_VERSION, http_port,
                           curve_public_key)
        self.contender = MasterContender(zk, info, session_timeout=session_timeout,
                                         on_elected=lambda: run(self._elected),
                                         on_leader=lambda leader: run(self._leader, leader),
                                         on_lost=lambda reason: run(self._lost, reason))
        self.registry = RegistryStore(self.contender.client, zk)  # the registry, in the same session

    def start(self) -> None:
        self.contender.start()

    def stop(self) -> None:
        self.contender.stop()

    def _leader(self, leader: Leader | None) -> None:
        self.leader = leader.pid if leader is not None else ""
        self._leader_info = dict(leader.info) if leader is not None else {}

    def leader_address(self) -> str | None:
        """The leader's HTTP ``host:port`` (MasterInfo.address), None while no leader is known."""
        address = self._leader_info.get("address")
        if not self.leader or not isinstance(address, dict):
            return None
        host = address.get("ip") or address.get("hostname")
        return f"{host}:{address.get('port')}" if host and address.get("port") else None

    def _elected(self) -> None:
        if not self.lost:
            self.leading = True
            self._on_elected()

    def _lost(self, reason: str) -> None:
        self.leading = False
        self.lost = reason
        self._on_lost(reason)

    def redirect(self, msg: Message) -> MasterRedirect | None:
        """What a standby answers ``msg`` with: a redirect for registrations, None (drop) for the rest."""
        if not isinstance(msg, REGISTRATIONS):
            return None
        why = f"not the leading master; the leader is {self.leader}" if self.leader else \
            "not the leading master; no leader is elected yet"
        return MasterRedirect(leader=self.leader, message=why)

    def state(self) -> dict[str, Any]:
        """The /master/state fields about the election."""
        return {"leader": self.leader, "leading": self.leading}
