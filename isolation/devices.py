"""The cgroups/devices isolator's allow-list: a container may use only the
devices named (Mesos' default set: null, zero, full, tty, random, urandom,
ptmx and pts, net/tun, plus mknod of any device)."""

from __future__ import annotations

import os
import re

import structlog

from isolation import cgroupfs
from isolation.errors import IsolationValueError

__all__ = ["DEFAULT_ALLOWED", "parse_allowed", "restrict"]

log = structlog.get_logger(__name__)

DEFAULT_ALLOWED = (
    "c *:* m", "b *:* m",                    # mknod, not use
    "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   # /dev/null, /dev/zero, /dev/full
    "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm",   # /dev/tty, /dev/console, /dev/ptmx
    "c 1:8 rwm", "c 1:9 rwm",                # /dev/random, /dev/urandom
    "c 136:* rwm",                           # /dev/pts/*
    "c 10:200 rwm",                          # /dev/net/tun
)

_ENTRY = re.compile(r"^[abc] (\*|\d+):(\*|\d+) [rwm]{1,3}$")


def parse_allowed(entries: list[str] | None) -> tuple[str, ...]:
    """Check device cgroup entries ("c 1:3 rwm"); None -> DEFAULT_ALLOWED."""
    if entries is None:
        return DEFAULT_ALLOWED
    out = []
    for entry in entries:
        entry = " ".join(entry.split())
        if not _ENTRY.match(entry):
            raise IsolationValueError(
                f"bad device entry {entry!r}: expected '<a|b|c> <major|*>:<minor|*> <r|w|m...>', e.g. 'c 1:3 rwm'"
            )
        out.append(entry)
    return tuple(out)


def restrict(path: str, allowed: tuple[str, ...]) -> None:
    """Deny every device to the devices cgroup at ``path``, then allow ``allowed``."""
    cgroupfs.write_value(os.path.join(path, "devices.deny"), "a")
    for entry in allowed:
        cgroupfs.write_value(os.path.join(path, "devices.allow"), entry)
    log.info("devices_restricted", path=path, allowed=list(allowed))
