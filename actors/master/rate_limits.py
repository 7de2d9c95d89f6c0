"""Mesos' RateLimits (the master's ``--rate_limits``): parsed and validated; used by admission.py."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["RateLimit", "RateLimits", "RateLimitsError", "parse_rate_limits"]


class RateLimitsError(ValueError):
    """Bad --rate_limits JSON; the message names the bad value."""


@dataclass(frozen=True)
class RateLimit:
    principal: str
    qps: float | None = None
    capacity: int | None = None


@dataclass(frozen=True)
class RateLimits:
    limits: tuple[RateLimit, ...] = ()
    aggregate_default_qps: float | None = None
    aggregate_default_capacity: int | None = None

    def qps_for(self, principal: str) -> tuple[str, float | None]:
        """(bucket kind, qps): ``("principal", q)`` for a listed principal, else ``("peer", default)``."""
        for limit in self.limits:
            if principal and limit.principal == principal:
                return "principal", limit.qps
        return "peer", self.aggregate_default_qps


def _number(where: str, value: Any, *, integer: bool = False) -> Any:
    ok = not isinstance(value, bool) and isinstance(value, int if integer else (int, float))
    if not ok or not math.isfinite(value) or value <= 0:
        kind = "an integer" if integer else "a number"
        raise RateLimitsError(f"--rate_limits: {where} must be {kind} > 0, got {value!r}")
    return value


def parse_rate_limits(text: str) -> RateLimits:
    """Parse ``--rate_limits`` (JSON text, or ``file://path``); empty text: no limits."""
    if not text.strip():
        return RateLimits()
    if text.startswith("file://"):
        try:
            with open(text[len("file://"):], encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise RateLimitsError(f"--rate_limits: cannot read {text!r}: {e.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise RateLimitsError(f"--rate_limits: not JSON ({e}): {text[:100]!r}") from None
    if not isinstance(data, dict):
        raise RateLimitsError(f"--rate_limits: expected a JSON object, got {text[:100]!r}")
    unknown = sorted(set(data) - {"limits", "aggregate_default_qps", "aggregate_default_capacity"})
    if unknown:
        raise RateLimitsError(f"--rate_limits: unknown field {unknown[0]!r}")
    items = data.get("limits", [])
    if not isinstance(items, list):
        raise RateLimitsError(f"--rate_limits: 'limits' must be a list, got {items!r}")
    limits: list[RateLimit] = []
    for item in items:
        principal = item.get("principal") if isinstance(item, dict) else None
        if not isinstance(principal, str) or not principal:
            raise RateLimitsError(f"--rate_limits: each limit needs a 'principal', got {item!r}")
        if any(x.principal == principal for x in limits):
            raise RateLimitsError(f"--rate_limits: principal {principal!r} is listed twice")
        qps = item.get("qps")
        capacity = item.get("capacity")
        limits.append(RateLimit(
            principal,
            None if qps is None else float(_number(f"qps of {principal!r}", qps)),
            None if capacity is None else int(_number(f"capacity of {principal!r}", capacity, integer=True))))
    qps = data.get("aggregate_default_qps")
    capacity = data.get("aggregate_default_capacity")
    return RateLimits(
        tuple(limits),
        None if qps is None else float(_number("aggregate_default_qps", qps)),
        None if capacity is None else int(_number("aggregate_default_capacity", capacity, integer=True)))
