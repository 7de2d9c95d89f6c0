"""Which IP address a process advertises in its pids, given the one it binds.

A process may bind every interface (``0.0.0.0``), but a pid must name an
address peers can send to, so a wildcard bind is advertised as the host's
routable address (Mesos: ``--advertise_ip``, else the address of ``--ip``,
else for ``0.0.0.0`` the host's own IP).
"""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["WILDCARD_IPS", "advertised_ip", "routable_ip"]

WILDCARD_IPS = frozenset({"0.0.0.0", "*"})

# Any address off every local network: connecting a UDP socket to it sends nothing,
# it only asks the routing table which source address the default route would use.
_PROBE = ("192.88.99.1", 9)


def _usable(ip: str) -> bool:
    try:
        address = ipaddress.IPv4Address(ip)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified or address.is_link_local)


def routable_ip() -> str:
    """This host's routable IPv4 address: the default route's source address, else
    what the hostname resolves to (if not loopback), else ``127.0.0.1``."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE)
            ip = str(probe.getsockname()[0])
        if _usable(ip):
            return ip
    except OSError:  # no route at all (e.g. a network namespace with loopback only)
        pass
    try:
        ip = socket.gethostbyname(socket.gethostname())
        if _usable(ip):
            return ip
    except OSError:
        pass
    return "127.0.0.1"


def advertised_ip(bind_ip: str, advertise_ip: str | None = None) -> str:
    """``advertise_ip`` if given; else ``bind_ip``, except that a wildcard bind
    (``0.0.0.0``) is advertised as ``routable_ip()``."""
    if advertise_ip:
        return advertise_ip
    return routable_ip() if bind_ip in WILDCARD_IPS else bind_ip
