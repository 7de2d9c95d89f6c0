"""Which CURVE key a follower of the master (agent, scheduler driver) pins for each master address.

A node with CURVE on sends only to servers whose key it knows (transport/curve.py).
The master's key comes from configuration (``--master_public_key``, the driver's
``master_public_key``), from the election znode's MasterInfo (``curve_public_key``)
when ZooKeeper is used, or, for a leader named by a standby's MasterRedirect
without ZooKeeper, from the standby: the masters of one cluster share a key pair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from transport.curve import load_public_key
from transport.pid import PID

if TYPE_CHECKING:
    from actors.ha.election import Leader
    from actors.node import Node

__all__ = ["pin_configured", "pin_leader", "pin_redirect"]


def pin_configured(node: Node, master: PID | None, key: str) -> None:
    """Pin ``key`` (Z85 text or a key file) for ``master``, if both are given and CURVE is on."""
    if master is not None and key and node.public_key:
        node.pin(master.address, load_public_key(key, "master public key"))


def pin_leader(node: Node, leader: Leader | None) -> None:
    """Pin the elected master's key from its MasterInfo (a leader without one is left unknown:
    nothing is sent to it, and the drop is counted ``no_server_key``)."""
    if leader is None or not node.public_key:
        return
    key = leader.info.get("curve_public_key")
    if isinstance(key, str) and key:
        node.pin(PID.parse(leader.pid).address, load_public_key(key, f"curve_public_key of {leader.znode}"))


def pin_redirect(node: Node, standby: PID, leader: str) -> None:
    """A standby named ``leader``: without a key of its own, it gets the standby's."""
    if not node.public_key or not leader:
        return
    address = PID.parse(leader).address
    if not node.endpoint.server_key(address):
        key = node.endpoint.server_key(standby.address)
        if key:
            node.pin(address, key)
