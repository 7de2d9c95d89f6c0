"""The master's registry (Mesos' ``Registry``): which agents are admitted, unreachable or gone.

Pure data with its encoding: no client, no clock. The leading master keeps it
in ZooKeeper (``--zk``; ``actors.ha.registry_store``) so that a newly elected
leader knows which agents to wait for; without ``--zk`` it lives in memory.
It holds agent records, not tasks, as Mesos' does: its size is bounded by the
cluster's agents, plus at most ``MAX_UNREACHABLE`` unreachable and
``MAX_GONE`` gone ids (the oldest are forgotten first).

Encoded as zlib-compressed JSON (a ZooKeeper znode holds at most 1 MB by
default; 10,000 admitted agents compress to well under that).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_BYTES", "MAX_GONE", "MAX_UNREACHABLE", "AgentRecord", "Registry", "RegistryError"]

MAX_UNREACHABLE = 100 * 1024  # Mesos' --registry_max_agent_count default
MAX_GONE = 100 * 1024
MAX_BYTES = 1024 * 1024 - 1024  # ZooKeeper's jute.maxbuffer default, less headroom
_FORMAT = 1


class RegistryError(ValueError):
    """The registry's bytes cannot be read (or it cannot be written: too large)."""


@dataclass(frozen=True)
class AgentRecord:
    """An admitted agent as the registry remembers it: its id, hostname and actor pid text."""

    agent_id: str
    hostname: str = ""
    pid: str = ""


@dataclass
class Registry:
    """``admitted``: id -> record; ``unreachable`` / ``gone``: id -> epoch seconds when so marked
    (insertion order is age order: the oldest is dropped first past the bounds)."""

    admitted: dict[str, AgentRecord] = field(default_factory=dict)
    unreachable: dict[str, float] = field(default_factory=dict)
    gone: dict[str, float] = field(default_factory=dict)

    # --- operations (Mesos' AdmitSlave, MarkSlaveUnreachable, MarkSlaveReachable, MarkSlaveGone, RemoveSlave)

    def admit(self, record: AgentRecord) -> None:
        self.unreachable.pop(record.agent_id, None)
        self.admitted[record.agent_id] = record

    def mark_unreachable(self, agent_id: str, when: float) -> None:
        self.admitted.pop(agent_id, None)
        self.unreachable.pop(agent_id, None)
        self.unreachable[agent_id] = when
        _bound(self.unreachable, MAX_UNREACHABLE)

    def mark_reachable(self, record: AgentRecord) -> None:
        self.admit(record)

    def mark_gone(self, agent_id: str, when: float) -> None:
        self.admitted.pop(agent_id, None)
        self.unreachable.pop(agent_id, None)
        self.gone.pop(agent_id, None)
        self.gone[agent_id] = when
        _bound(self.gone, MAX_GONE)

    def remove(self, agent_id: str) -> None:
        self.admitted.pop(agent_id, None)

    # --- encoding -----------------------------------------------------------------

    def encode(self) -> bytes:
        """zlib-compressed JSON; RegistryError if it is larger than a znode may be."""
        doc = {
            "format": _FORMAT,
            "agents": [[r.agent_id, r.hostname, r.pid] for r in self.admitted.values()],
            "unreachable": [[aid, when] for aid, when in self.unreachable.items()],
            "gone": [[aid, when] for aid, when in self.gone.items()],
        }
        data = zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)
        if len(data) > MAX_BYTES:
            raise RegistryError(f"the registry is {len(data)} bytes encoded, over the {MAX_BYTES}-byte znode limit")
        return data

    @classmethod
    def decode(cls, data: bytes | None) -> Registry:
        """The registry in ``data`` (empty or None: an empty registry); RegistryError naming what is wrong."""
        if not data:
            return cls()
        try:
            doc = json.loads(zlib.decompress(data))
        except (zlib.error, UnicodeDecodeError, ValueError) as e:
            raise RegistryError(f"the registry is not zlib-compressed JSON: {e}") from None
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise RegistryError(f"unknown registry format {doc.get('format') if isinstance(doc, dict) else doc!r}")
        registry = cls()
        try:
            for aid, hostname, pid in doc.get("agents", []):
                registry.admitted[_text(aid)] = AgentRecord(_text(aid), _text(hostname), _text(pid))
            for aid, when in doc.get("unreachable", []):
                registry.unreachable[_text(aid)] = float(when)
            for aid, when in doc.get("gone", []):
                registry.gone[_text(aid)] = float(when)
        except (TypeError, ValueError) as e:
            raise RegistryError(f"bad registry entry: {e}") from None
        return registry


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return value


def _bound(records: dict[str, float], limit: int) -> None:
    while len(records) > limit:
        del records[next(iter(records))]
