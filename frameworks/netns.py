"""Test hosts in Linux network namespaces, for testing frameworks through real network partitions.

``Topology(["master", "agent1", "agent2"])`` makes one namespace per host, each
with its own address on one subnet (``10.77.0.1``, ``10.77.0.2``...), all joined
by a bridge in a hub namespace of their own; nothing is added to the caller's
namespace. ``cut(host)`` takes the host's link at the hub down, a real
partition (TCP connections stay open, packets are lost, as when a switch port
or a cable fails); ``heal(host)`` brings it back. ``popen(host, argv)`` runs a
program on a host (``ip netns exec``); ``close()`` (or leaving the ``with``
block) kills what was started and deletes the namespaces, also after a failure.
Namespaces left by a process that died without closing are removed by the next
``Topology``. Needs root (CAP_NET_ADMIN) and iproute2: ``unavailable()`` says why
not, for a test to skip with.

    with Topology(["master", "agent"]) as net:
        master = net.popen("master", [..., f"--ip={net.address('master')}"])
        ...
        net.cut("agent"); ...; net.heal("agent")
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Sequence
from typing import Any

import structlog

__all__ = ["NetnsError", "Topology", "unavailable"]

log = structlog.get_logger(__name__)

_PREFIX = "mpy"
_NAME = re.compile(r"^mpy-(\d+)-\d+-")
_ids = itertools.count()


class NetnsError(RuntimeError):
    """An ``ip`` command failed; the message has the command and its error output."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def unavailable() -> str | None:
    """Why network namespaces cannot be made here (None: they can)."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN)"
    probe = f"{_PREFIX}-{os.getpid()}-probe-{next(_ids)}"
    try:
        _ip("netns", "add", probe)
    except NetnsError as e:
        return f"cannot create a network namespace: {e}"
    _ip("netns", "del", probe, check=False)
    return None


def _remove_stale() -> None:
    """Delete namespaces of ours whose creating process is gone."""
    listed = _ip("netns", "list", check=False).stdout.split()
    for name in listed:
        match = _NAME.match(name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            _ip("netns", "del", name, check=False)
            log.info("netns_stale_removed", namespace=name, pid=pid)
        except PermissionError:
            pass


class Topology:
    """Hosts ``names`` (letters, digits, dashes) on subnet ``10.77.<net>.0/24``."""

    def __init__(self, names: Sequence[str], *, net: int = 0) -> None:
        if not names or len(set(names)) != len(names):
            raise ValueError(f"host names must be distinct and at least one, got {list(names)!r}")
        if len(names) > 250 or not 0 <= net <= 255:
            raise ValueError(f"at most 250 hosts on net 0-255, got {len(names)} hosts on net {net!r}")
        for name in names:
            if not re.fullmatch(r"[A-Za-z0-9-]{1,20}", name):
                raise ValueError(f"bad host name {name!r}: letters, digits and dashes, at most 20")
        self.names = list(names)
        self._tag = f"{_PREFIX}-{os.getpid()}-{next(_ids)}"
        self._hub = f"{self._tag}-hub"
        self._net = net
        self._procs: list[subprocess.Popen[Any]] = []
        self._made: list[str] = []

    def namespace(self, host: str) -> str:
        self._index(host)
        return f"{self._tag}-{host}"

    def address(self, host: str) -> str:
        return f"10.77.{self._net}.{self._index(host) + 1}"

    def _index(self, host: str) -> int:
        try:
            return self.names.index(host)
        except ValueError:
            raise ValueError(f"unknown host {host!r}; hosts are {self.names!r}") from None

    def start(self) -> Topology:
        _remove_stale()
        try:
            self._add(self._hub)
            _ip("-n", self._hub, "link", "add", "br0", "type", "bridge")
            _ip("-n", self._hub, "link", "set", "br0", "up")
            for i, host in enumerate(self.names):
                ns = f"{self._tag}-{host}"
                self._add(ns)
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", f"p{i}", "netns", self._hub)
                _ip("-n", self._hub, "link", "set", f"p{i}", "master", "br0")
                _ip("-n", self._hub, "link", "set", f"p{i}", "up")
                _ip("-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
                _ip("-n", ns, "link", "set", "eth0", "up")
        except BaseException:
            self.close()
            raise
        log.info("netns_topology_up", hosts={h: self.address(h) for h in self.names}, tag=self._tag)
        return self

    def _add(self, ns: str) -> None:
        _ip("netns", "add", ns)
        self._made.append(ns)

    def argv(self, host: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run on ``host`` (``ip netns exec`` execs it: the child is the program itself)."""
        return ["ip", "netns", "exec", self.namespace(host), *argv]

    def popen(self, host: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` on ``host`` (``subprocess.Popen`` keywords); killed by ``close()``."""
        proc: subprocess.Popen[Any] = subprocess.Popen(self.argv(host, argv), **kwargs)
        self._procs.append(proc)
        return proc

    def cut(self, host: str) -> None:
        """Partition ``host`` from every other host: its link at the hub goes down."""
        _ip("-n", self._hub, "link", "set", f"p{self._index(host)}", "down")
        log.info("netns_link_cut", host=host)

    def heal(self, host: str) -> None:
        _ip("-n", self._hub, "link", "set", f"p{self._index(host)}", "up")
        log.info("netns_link_healed", host=host)

    def close(self) -> None:
        """Kill the processes started here (SIGKILL, also stopped ones) and delete the namespaces."""
        for proc in self._procs:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGCONT)
                    proc.kill()
                except ProcessLookupError:
                    pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                log.warning("netns_process_not_reaped", pid=proc.pid)
        self._procs.clear()
        for ns in reversed(self._made):
            _ip("netns", "del", ns, check=False)
        self._made.clear()

    def __enter__(self) -> Topology:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
