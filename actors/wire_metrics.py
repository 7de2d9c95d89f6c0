"""Metrics of what a daemon refused from the wire (pure: counter tables in, metrics out).

Mesos-style names under the daemon's prefix (``master`` or ``slave``):

- ``<prefix>/invalid_frames`` and ``<prefix>/invalid_frames/<reason>``: messages the transport
  could not decode or route (``garbage``, ``oversized``, ``bad_envelope``, ``unknown_type``,
  ``bad_fields``, ``too_deep``, ``internal_error``);
- ``<prefix>/dropped_frames/<reason>``: frames or envelopes the transport dropped
  (``spoofed``, ``stale_sender``, ``stale_incarnation``, ``queue_full``...);
- ``<prefix>/unentitled_messages`` and ``<prefix>/unentitled_messages/<Type>/<reason>``:
  messages refused by the role's entitlement tables;
- ``<prefix>/mailbox_refused_messages``: ordinary messages refused by a full mailbox;
- ``<prefix>/curve/handshakes``: with CURVE on, connections that completed the handshake
  (a peer without our key never does: its bytes are refused before any frame exists).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["rejection_metrics"]

Table = Mapping[str, Mapping[str, int]]  # kind -> key -> count, as Counters.snapshot()


def rejection_metrics(prefix: str, transport: Table, node: Table, refused: Iterable[Mapping[str, int]],
                      mailbox_refused: int) -> dict[str, float]:
    """The metrics above from the endpoint's and the node's counters, the entitlement tables'
    snapshots (``"Type:reason" -> count``) and the mailbox's refusals."""
    out: dict[str, float] = {}
    invalid: dict[str, int] = {}
    for table in (transport, node):
        for reason, n in table.get("rejected", {}).items():
            invalid[reason] = invalid.get(reason, 0) + n
    out[f"{prefix}/invalid_frames"] = sum(invalid.values())
    for reason, n in invalid.items():
        out[f"{prefix}/invalid_frames/{reason}"] = n
    for reason, n in transport.get("dropped", {}).items():
        out[f"{prefix}/dropped_frames/{reason}"] = n
    total = 0
    for snapshot in refused:
        for key, n in snapshot.items():
            type_name, _, reason = key.partition(":")
            name = f"{prefix}/unentitled_messages/{type_name}/{reason}"
            out[name] = out.get(name, 0) + n
            total += n
    out[f"{prefix}/unentitled_messages"] = total
    out[f"{prefix}/mailbox_refused_messages"] = mailbox_refused
    for what, n in transport.get("curve", {}).items():
        out[f"{prefix}/curve/{what}"] = n
    return out
