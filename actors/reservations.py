"""Dynamic reservations in Mesos' format (pure; shared by the master and the agent).

A reserved resource dict carries its reservation *stack* (Mesos'
``reservations``, refinement order): ``[{"type": "DYNAMIC", "role": "eng",
"principal": "ops"}, {"type": "DYNAMIC", "role": "eng/backend", ...}]``. The
resource belongs to the last role; a RESERVE pushes one reservation (to a
descendant of the current top role, or to any role when unreserved), an
UNRESERVE pops the top one. The pre-1.? form ``{"role": "eng",
"reservation": {"principal": "ops"}}`` is read as a stack of one.

``Resources`` keys resources by (name, role) only, so the stacks live beside
them, per agent, in ``DynamicReservations`` (role -> resources and stack; read
from resource dicts, written back with ``with_stacks``). A ``Conversion`` is what an operation does
to one resource dict: ``consumed`` (what it needs) becomes ``converted``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from actors.resources import EMPTY, Resources, ResourcesError
from actors.roles import is_subrole, role_error

__all__ = [
    "Conversion", "DynamicReservations", "ReservationError", "apply_conversions", "reserve_conversions",
    "stack_of", "unreserve_conversions", "with_stacks",
]

Dict = dict[str, Any]
Stack = list[Dict]


class ReservationError(ValueError):
    """A bad or impossible reservation; the message names the resource and the reason."""


class Conversion(NamedTuple):
    consumed: Resources
    converted: Resources
    stack: Stack  # the stack after the operation ([] when the resource ends unreserved)
    role: str  # the role whose reservation is pushed (RESERVE) or popped (UNRESERVE)
    principal: str


def stack_of(d: Mapping[str, Any]) -> Stack:
    """The resource dict's reservation stack ([] if unreserved or statically reserved)."""
    resv = d.get("reservations")
    if isinstance(resv, list) and resv:
        return [dict(x) if isinstance(x, Mapping) else {"bad": x} for x in resv]
    role, legacy = d.get("role"), d.get("reservation")
    if isinstance(role, str) and role != "*" and isinstance(legacy, Mapping):
        entry: Dict = {"type": "DYNAMIC", "role": role}
        if isinstance(legacy.get("principal"), str):
            entry["principal"] = legacy["principal"]
        if legacy.get("labels"):
            entry["labels"] = legacy["labels"]
        return [entry]
    return []


def _check_stack(stack: Stack, d: Mapping[str, Any]) -> None:
    if not stack:
        raise ReservationError(f"resource {d!r} has no reservation (expected 'reservations')")
    prev = "*"
    for entry in stack:
        role = entry.get("role")
        error = role_error(role) if isinstance(role, str) else f"must be a string, got {role!r}"
        if error is not None or not isinstance(role, str) or role == "*":
            raise ReservationError(f"bad reservation role {role!r} in {d!r}: {error or 'cannot reserve to *'}")
        if prev != "*" and (role == prev or not is_subrole(role, prev)):
            raise ReservationError(f"reservation to {role!r} in {d!r} does not refine {prev!r} "
                                   f"(it must be a descendant of the role below it)")
        if entry.get("type", "DYNAMIC") not in ("DYNAMIC", "STATIC"):
            raise ReservationError(f"bad reservation type {entry.get('type')!r} in {d!r}")
        principal = entry.get("principal")
        if principal is not None and not isinstance(principal, str):
            raise ReservationError(f"reservation principal must be a string, got {principal!r}")
        prev = role
    if stack[-1].get("type", "DYNAMIC") != "DYNAMIC":
        raise ReservationError(f"only a dynamic reservation can be made or removed, got {stack[-1]!r}")


def _one(d: Any, below: Stack) -> Resources:
    plain = {k: v for k, v in d.items() if k not in ("role", "reservations", "reservation", "allocation_info")}
    plain["role"] = below[-1]["role"] if below else "*"
    try:
        return Resources.from_dicts([plain])
    except ResourcesError as e:
        raise ReservationError(str(e)) from None


def _conversions(items: Any, kind: str) -> list[Conversion]:
    if not isinstance(items, list) or not items:
        raise ReservationError(f"{kind} needs a non-empty list of resource dicts, got {items!r}")
    out = []
    for d in items:
        if not isinstance(d, Mapping):
            raise ReservationError(f"bad resource {d!r}: expected a dict")
        stack = stack_of(d)
        _check_stack(stack, d)
        top = stack[-1]
        reserved, unreserved = _one(d, stack), _one(d, stack[:-1])
        principal = top.get("principal") or ""
        if kind == "RESERVE":
            out.append(Conversion(unreserved, reserved, stack, top["role"], principal))
        else:
            out.append(Conversion(reserved, unreserved, stack[:-1], top["role"], principal))
    return out


def reserve_conversions(items: Any) -> list[Conversion]:
    """What RESERVE of ``items`` (resource dicts with their new stacks) does."""
    return _conversions(items, "RESERVE")


def unreserve_conversions(items: Any) -> list[Conversion]:
    """What UNRESERVE of ``items`` (reserved resource dicts, as offered) does."""
    return _conversions(items, "UNRESERVE")


def apply_conversions(total: Resources, conversions: Iterable[Conversion], where: str) -> Resources:
    """``total`` with each conversion applied in turn; ReservationError if one's resources are missing."""
    for c in conversions:
        if not total.contains(c.consumed):
            raise ReservationError(f"{c.consumed} is not available {where} (has {total})")
        total = total - c.consumed + c.converted
    return total


class DynamicReservations:
    """role -> (resources dynamically reserved to it, their stack): an agent's dynamic
    reservations, kept apart from static ones (``cpus(eng)`` in ``--resources``)."""

    def __init__(self) -> None:
        self.by_role: dict[str, tuple[Resources, Stack]] = {}

    @classmethod
    def from_dicts(cls, items: Iterable[Any]) -> DynamicReservations:
        """From resource dicts (an agent's, as it registers): those with a dynamic top reservation."""
        out = cls()
        for d in items:
            if not isinstance(d, Mapping):
                continue
            stack = stack_of(d)
            if stack and stack[-1].get("type", "DYNAMIC") == "DYNAMIC" and isinstance(stack[-1].get("role"), str):
                try:
                    res = _one(d, stack)
                except ReservationError:
                    continue
                out._add(stack[-1]["role"], res, stack)
        return out

    def _add(self, role: str, res: Resources, stack: Stack) -> None:
        have, _ = self.by_role.get(role, (EMPTY, stack))
        self.by_role[role] = (have + res, stack)

    def _take(self, role: str, res: Resources) -> None:
        have, stack = self.by_role.get(role, (EMPTY, []))
        left = have - res
        if left:
            self.by_role[role] = (left, stack)
        else:
            self.by_role.pop(role, None)

    def apply(self, conversions: Iterable[Conversion], reserve: bool) -> None:
        for c in conversions:
            if reserve:
                self._add(c.role, c.converted, c.stack)
                if len(c.stack) > 1:
                    self._take(c.stack[-2]["role"], c.consumed)
            else:
                self._take(c.role, c.consumed)
                if c.stack:
                    self._add(c.stack[-1]["role"], c.converted, c.stack)

    def stacks(self) -> dict[str, Stack]:
        return {role: stack for role, (_, stack) in self.by_role.items()}

    def to_dicts(self) -> list[Dict]:
        """The dynamically reserved resources as resource dicts with their stacks."""
        return [d for role, (res, stack) in sorted(self.by_role.items())
                for d in with_stacks(res.to_dicts(), {role: stack})]


def with_stacks(items: Iterable[Dict], stacks: Mapping[str, Stack]) -> list[Dict]:
    """Resource dicts with the stack of their role (and the legacy ``reservation``) added."""
    out = []
    for d in items:
        stack = stacks.get(d.get("role", "*"))
        if stack:
            top = stack[-1]
            d = dict(d, reservations=[dict(x) for x in stack],
                     reservation={"principal": top["principal"]} if top.get("principal") else {})
        out.append(d)
    return out
