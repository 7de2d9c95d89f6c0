"""Mesos' leader election layout in ZooKeeper, as pure functions (no client, no clock).

Each master holds an ephemeral sequential znode ``json.info_<seq>`` under the
election path, holding its MasterInfo as JSON; the lowest sequence leads.
This is what Mesos masters write and what existing clients (pymesos) read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from transport.pid import PID

__all__ = ["LABEL", "Leader", "Parse", "ZkUrl", "choose_leader", "master_error", "master_info", "parse_json_info",
           "parse_master_info", "parse_zk_url", "sequence_of", "zk_url"]

LABEL = "json.info_"  # the znode name prefix; kazoo appends a 10-digit sequence


@dataclass(frozen=True)
class ZkUrl:
    """``zk://h1:2181,h2:2181/mesos`` split into kazoo's connect string and the election path."""

    hosts: str
    path: str


def parse_zk_url(text: str) -> ZkUrl:
    """Parse ``zk://host:port[,host:port...]/path``; ValueError naming the bad part."""
    if not text.startswith("zk://"):
        raise ValueError(f"ZooKeeper URL {text!r} must start with zk://")
    rest = text[len("zk://"):]
    hosts, slash, path = rest.partition("/")
    if "@" in hosts:
        raise ValueError(f"ZooKeeper URL {text!r}: credentials (user:pass@) are not supported")
    if not slash or not path.strip("/"):
        raise ValueError(f"ZooKeeper URL {text!r} needs a path, as zk://host:2181/mesos")
    if not hosts:
        raise ValueError(f"ZooKeeper URL {text!r} names no server")
    for server in hosts.split(","):
        host, colon, port = server.rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"ZooKeeper URL {text!r}: bad server {server!r}; expected host:port")
    return ZkUrl(hosts, "/" + path.strip("/"))


def zk_url(master: str) -> str:
    """``master`` stripped when it is a ``zk://`` URL (ValueError if a bad one), else ""."""
    text = master.strip()
    if not text.startswith("zk://"):
        return ""
    parse_zk_url(text)
    return text


def master_error(text: str) -> str | None:
    """Why ``text`` is not a master address (``host:port`` or ``zk://hosts/path``), or None when it is one."""
    if text.startswith("zk://"):
        try:
            parse_zk_url(text)
        except ValueError as e:
            return str(e)
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return f"{text!r} is neither host:port nor zk://host:port/path"
    return None


def master_info(master_id: str, pid: str, hostname: str, version: str, http_port: int | None = None,
                curve_public_key: bytes = b"") -> bytes:
    """MasterInfo JSON as Mesos writes it into its election znode (``ip`` as a network-order uint32);
    with CURVE on, also the master's public key (``curve_public_key``, Z85), which followers pin."""
    parsed = PID.parse(pid)
    octets = [int(x) for x in parsed.host.split(".")] if parsed.host.count(".") == 3 else [0, 0, 0, 0]
    ip = octets[0] | octets[1] << 8 | octets[2] << 16 | octets[3] << 24  # Mesos stores in_addr as is
    info: dict[str, Any] = {
        "id": master_id, "ip": ip, "port": parsed.port, "pid": pid, "hostname": hostname or parsed.host,
        "version": version,
        "address": {"ip": parsed.host, "hostname": hostname or parsed.host, "port": http_port or parsed.port},
    }
    if curve_public_key:
        info["curve_public_key"] = curve_public_key.decode()
    return json.dumps(info, sort_keys=True).encode()


def sequence_of(name: str) -> int | None:
    """The sequence number of an election child ``json.info_0000000007``; None for any other name."""
    if not name.startswith(LABEL):
        return None
    digits = name[len(LABEL):]
    return int(digits) if digits.isdigit() else None


@dataclass(frozen=True)
class Leader:
    """The leading contender: its znode name, the master's actor pid text ("" for a framework's
    instance) and its info (MasterInfo, or the instance's JSON)."""

    znode: str
    pid: str
    info: dict[str, Any]


#: What a contender's znode data means: ``(pid text or "", info)``, or the reason it is not valid.
Parse = Callable[[bytes], "tuple[str, dict[str, Any]] | str"]


def parse_json_info(data: bytes) -> tuple[str, dict[str, Any]] | str:
    """Any JSON object (a framework instance's ``me``); ``("", info)``, or why it is not one."""
    try:
        info = json.loads(data)
    except (UnicodeDecodeError, ValueError) as e:
        return f"invalid JSON: {e}"
    if not isinstance(info, dict):
        return "not a JSON object"
    return "", info


def parse_master_info(data: bytes) -> tuple[str, dict[str, Any]] | str:
    """(pid, info) from a znode's MasterInfo JSON, or the reason it is not one."""
    parsed = parse_json_info(data)
    if isinstance(parsed, str):
        return parsed
    info = parsed[1]
    pid = info.get("pid")
    if not isinstance(pid, str) or not pid:
        return "no pid"
    try:
        PID.parse(pid if "@" in pid else f"master@{pid}")
    except ValueError as e:
        return f"bad pid {pid!r}: {e}"
    return (pid if "@" in pid else f"master@{pid}"), info


def choose_leader(children: dict[str, bytes | None], parse: Parse = parse_master_info,
                  ) -> tuple[Leader | None, list[tuple[str, str]]]:
    """The leader among the election children (name -> data, None when it vanished), and what was skipped.

    The child with the lowest sequence whose data ``parse`` accepts (by default: valid MasterInfo) leads.
    Returns ``(leader or None, [(child name, reason skipped), ...])``. Names that
    are not ``json.info_<digits>`` are skipped (Mesos' registry lives beside them).
    """
    skipped: list[tuple[str, str]] = []
    ranked = []
    for name in children:
        seq = sequence_of(name)
        if seq is None:
            if not name.startswith("registry") and not name.startswith("log_replicas"):
                skipped.append((name, "not an election znode"))
            continue
        ranked.append((seq, name))
    for _, name in sorted(ranked):
        data = children[name]
        if data is None:
            continue  # it went away between the listing and the read: not a candidate
        parsed = parse(data)
        if isinstance(parsed, str):
            skipped.append((name, parsed))
            continue
        return Leader(name, parsed[0], parsed[1]), skipped
    return None, skipped
