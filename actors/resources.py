"""The Mesos resource model: scalar and range resources keyed by (name, role).

Pure and shared by the master, the allocator and the agent. A ``Resources`` is
an immutable value. Scalars are fixed point with 3 decimals (as in Mesos):
they are rounded on construction and after every operation, and a scalar of 0
is not stored. Ranges are normalised: sorted, merged (adjacent ones too),
inclusive ``(begin, end)`` int intervals. Role ``"*"`` is unreserved.

Text syntax (the agent's ``--resources`` flag)::

    cpus:4;mem:4096;disk:10240;ports:[31000-32000]
    cpus(role):2;ports(role):[1-2,5-10]

or a JSON list of v1 resource dicts (when the text starts with ``[``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from actors.bounds import key_problem, range_problem, scalar_problem
from actors.roles import is_subrole

__all__ = [
    "DEFAULT_MIN_ALLOCATABLE", "EMPTY", "MIN_CPUS", "MIN_MEM", "Resources", "ResourcesError",
    "is_allocatable", "parse_min_allocatable",
]

Key = tuple[str, str]
Range = tuple[int, int]
Ranges = tuple[Range, ...]

MIN_CPUS = 0.01
MIN_MEM = 32.0
#: Mesos' ``--min_allocatable_resources`` default ``cpus:0.01|mem:32`` (any one set suffices).
DEFAULT_MIN_ALLOCATABLE: tuple[dict[str, float], ...] = ({"cpus": MIN_CPUS}, {"mem": MIN_MEM})
_EPS = 1e-9


class ResourcesError(ValueError):
    """Bad resource text, dict or value; the message names the bad input."""


def _norm_ranges(rs: Iterable[Range]) -> Ranges:
    out: list[Range] = []
    for b, e in sorted(rs):
        if out and b <= out[-1][1] + 1:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((b, e))
    return tuple(out)


def _sub_ranges(a: Ranges, b: Ranges) -> Ranges:
    """``a`` minus ``b``: ``a`` intersected with the gaps of ``b``."""
    edges = [-1, *(x for rng in b for x in rng), 1 << 62]
    gaps = [(edges[i] + 1, edges[i + 1] - 1) for i in range(0, len(edges), 2)]
    return _and_ranges(a, tuple(g for g in gaps if g[0] <= g[1]))


def _and_ranges(a: Ranges, b: Ranges) -> Ranges:
    out: list[Range] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _fmt(v: float) -> str:
    return str(int(v)) if v == int(v) else repr(v)


class Resources:
    """Immutable scalar and range resources; see the module docstring.

    ``Resources(scalars={("cpus", "*"): 2.0}, ranges={("ports", "*"): [(1, 5)]})``
    validates its input; ``parse`` and ``from_dicts`` are the usual doors.
    """

    __slots__ = ("_q", "_r", "_res", "_s")
    _s: dict[Key, float]
    _r: dict[Key, Ranges]
    _q: dict[str, float] | None
    _res: bool | None

    def __init__(self, scalars: Mapping[Key, float] | None = None,
                 ranges: Mapping[Key, Iterable[Range]] | None = None) -> None:
        for key in [*(scalars or {}), *(ranges or {})]:
            _check_key(*key)
        s = {k: v for k, v in ((k, round(_scalar(k[0], v), 3)) for k, v in (scalars or {}).items()) if v > 0}
        r = {k: _norm_ranges([_range(k[0], b, e) for b, e in rs]) for k, rs in (ranges or {}).items()}
        r = {k: v for k, v in r.items() if v}
        both = {k[0] for k in s} & {k[0] for k in r}
        if both:
            raise ResourcesError(f"resource {min(both)!r} given as both scalar and ranges")
        self._s, self._r, self._q, self._res = s, r, None, None

    @classmethod
    def _make(cls, s: dict[Key, float], r: dict[Key, Ranges]) -> Resources:
        obj = object.__new__(cls)
        obj._s, obj._r, obj._q, obj._res = s, r, None, None
        return obj

    @classmethod
    def parse(cls, text: str, default_role: str = "*") -> Resources:
        """Parse the flag syntax or, when ``text`` starts with ``[``, a JSON list."""
        if not isinstance(text, str):
            raise ResourcesError(f"resources must be a string, got {text!r}")
        if text.lstrip().startswith("["):
            try:
                data = json.loads(text)
            except ValueError as e:
                raise ResourcesError(f"bad resources JSON {text!r}: {e}") from None
            return cls.from_dicts(data, default_role)
        s: dict[Key, float] = {}
        r: dict[Key, list[Range]] = {}
        for item in filter(None, (x.strip() for x in text.split(";"))):
            _parse_item(item, default_role, s, r)
        return cls(s, r)

    @classmethod
    def from_dicts(cls, items: Iterable[Mapping[str, Any]], default_role: str = "*") -> Resources:
        """Build from Mesos v1 JSON resource dicts; unknown keys are ignored. A missing
        ``role`` is the last of ``reservations``' roles if any, else ``default_role``;
        a missing ``type`` is inferred from which of ``scalar`` / ``ranges`` is present."""
        s: dict[Key, float] = {}
        r: dict[Key, list[Range]] = {}
        for d in items:
            _parse_dict(d, default_role, s, r)
        return cls(s, r)

    def to_dicts(self) -> list[dict[str, Any]]:
        """Mesos v1 JSON resource dicts (role included)."""
        out: list[dict[str, Any]] = [{"name": n, "type": "SCALAR", "scalar": {"value": v}, "role": role}
                                     for (n, role), v in self._s.items()]
        out.extend({"name": n, "type": "RANGES", "role": role,
                    "ranges": {"range": [{"begin": b, "end": e} for b, e in rs]}}
                   for (n, role), rs in self._r.items())
        return out

    def __add__(self, other: Resources) -> Resources:
        if not other._s and not other._r:
            return self
        if not self._s and not self._r:
            return other
        s = dict(self._s)
        for k, v in other._s.items():
            s[k] = round(s.get(k, 0.0) + v, 3)
        r = self._r
        if other._r:
            r = dict(r)
            for k, rs in other._r.items():
                r[k] = _norm_ranges(r[k] + rs) if k in r else rs
        return Resources._make(s, r)

    def __sub__(self, other: Resources) -> Resources:
        """Scalars floor at 0; ranges are subtracted interval-wise."""
        if other is self:
            return EMPTY
        if not other._s and not other._r:
            return self
        s = dict(self._s)
        for k, v in other._s.items():
            if k in s:
                nv = round(s[k] - v, 3)
                if nv > 0:
                    s[k] = nv
                else:
                    del s[k]
        r = self._r
        if other._r:
            r = {k: _sub_ranges(rs, other._r[k]) if k in other._r else rs for k, rs in r.items()}
            r = {k: rs for k, rs in r.items() if rs}
        return Resources._make(s, r)

    def __and__(self, other: Resources) -> Resources:
        """Intersection: the smaller scalar per key, common ranges per key."""
        s = {k: min(v, other._s[k]) for k, v in self._s.items() if k in other._s}
        r = {k: _and_ranges(rs, other._r[k]) for k, rs in self._r.items() if k in other._r}
        return Resources._make(s, {k: rs for k, rs in r.items() if rs})

    def contains(self, other: Resources) -> bool:
        """``self >= other`` per (name, role): every scalar and range covered."""
        s = self._s
        for k, v in other._s.items():
            if s.get(k, 0.0) < v - _EPS:
                return False
        for k, rs in other._r.items():
            if _and_ranges(self._r.get(k, ()), rs) != rs:
                return False
        return True

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resources):
            return NotImplemented
        return self._s == other._s and self._r == other._r

    def __hash__(self) -> int:
        return hash((frozenset(self._s.items()), frozenset(self._r.items())))

    def __bool__(self) -> bool:
        return bool(self._s or self._r)

    def is_empty(self) -> bool:
        return not (self._s or self._r)

    def __str__(self) -> str:
        parts = [f"{n}{'' if role == '*' else f'({role})'}:{_fmt(v)}" for (n, role), v in self._s.items()]
        parts.extend(
            f"{n}{'' if role == '*' else f'({role})'}:[{','.join(f'{b}-{e}' for b, e in rs)}]"
            for (n, role), rs in self._r.items()
        )
        return ";".join(parts)

    def __repr__(self) -> str:
        return f"Resources({str(self)!r})"

    def scalar(self, name: str) -> float:
        """The scalar ``name`` summed over roles (0.0 if absent)."""
        return self.quantities().get(name, 0.0)

    def quantities(self) -> dict[str, float]:
        """Scalar name -> amount summed over roles (cached; do not mutate)."""
        q = self._q
        if q is None:
            q = {}
            for (n, _), v in self._s.items():
                q[n] = round(q.get(n, 0.0) + v, 3) if n in q else v
            self._q = q
        return q

    def ranges(self, name: str) -> list[Range]:
        """The ranges of ``name`` merged over roles."""
        return list(_norm_ranges(x for (n, _), rs in self._r.items() if n == name for x in rs))

    def quantity(self, name: str) -> float:
        """Scalar amount, or for ranges the number of values (Mesos' quantity)."""
        if any(n == name for n, _ in self._r):
            return float(sum(e - b + 1 for b, e in self.ranges(name)))
        return self.scalar(name)

    def names(self) -> frozenset[str]:
        return frozenset(n for n, _ in self._s) | frozenset(n for n, _ in self._r)

    def roles(self) -> frozenset[str]:
        return frozenset(r for _, r in self._s) | frozenset(r for _, r in self._r)

    def has_reservations(self) -> bool:
        if self._res is None:
            self._res = any(r != "*" for _, r in self._s) or any(r != "*" for _, r in self._r)
        return self._res

    def _select(self, keep: Any) -> Resources:
        return Resources._make({k: v for k, v in self._s.items() if keep(k[1])},
                               {k: v for k, v in self._r.items() if keep(k[1])})

    def reserved(self, role: str | None = None) -> Resources:
        """Resources reserved to ``role``, or to any role when None."""
        return self._select((lambda r: r != "*") if role is None else (lambda r: r == role))

    def unreserved(self) -> Resources:
        return self._select(lambda r: r == "*") if self.has_reservations() else self

    def for_role(self, role: str) -> Resources:
        """What a framework in ``role`` may be offered: unreserved, plus reserved to
        the role or to one of its ancestors (``cpus(eng)`` is allocatable to
        ``eng/backend``, as Mesos' ``Resources::isAllocatableTo``)."""
        if not self.has_reservations():
            return self
        return self._select(lambda r: r == "*" or is_subrole(role, r))

    def flatten(self, role: str = "*") -> Resources:
        """All roles collapsed into ``role``."""
        s = {(n, role): v for n, v in self.quantities().items()}
        return Resources._make(s, {(n, role): tuple(self.ranges(n)) for n, _ in self._r})


EMPTY = Resources()


def _raise(problem: str | None) -> None:
    if problem:
        raise ResourcesError(problem)


def _check_key(name: Any, role: Any) -> None:
    _raise(key_problem(name, role))


def _scalar(name: str, v: Any) -> float:
    _raise(scalar_problem(name, v))
    return float(v)


def _range(name: str, b: Any, e: Any) -> Range:
    _raise(range_problem(name, b, e))
    return (b, e)


def _parse_item(item: str, default_role: str, s: dict[Key, float], r: dict[Key, list[Range]]) -> None:
    try:
        head, sep, value = item.partition(":")
        if not sep:
            raise ResourcesError("expected name:value or name(role):value")
        head, value, role = head.strip(), value.strip(), default_role
        if "(" in head:
            if not head.endswith(")"):
                raise ResourcesError(f"bad role in {head!r}")
            head, role = (x.strip() for x in head[:-1].split("(", 1))
            if not role:
                raise ResourcesError("empty role")
        if not head:
            raise ResourcesError("empty name")
        _check_key(head, role)
        if value.startswith("{"):
            raise ResourcesError("set resources are not supported")
        if value.startswith("["):
            if not value.endswith("]"):
                raise ResourcesError(f"unterminated ranges {value!r}")
            for part in filter(None, (x.strip() for x in value[1:-1].split(","))):
                b, dash, e = (x.strip() for x in part.partition("-"))
                if not dash or not b.isdigit() or not e.isdigit():
                    raise ResourcesError(f"{part!r} is not a range begin-end")
                r.setdefault((head, role), []).append(_range(head, int(b), int(e)))
            return
        try:
            v = float(value)
        except ValueError:
            v = math.nan
        if not math.isfinite(v):
            raise ResourcesError(f"{value!r} is not a number")
        s[(head, role)] = s.get((head, role), 0.0) + _scalar(head, v)
    except ResourcesError as exc:
        raise ResourcesError(f"bad resource {item!r}: {exc}") from None


def _parse_dict(d: Any, default_role: str, s: dict[Key, float], r: dict[Key, list[Range]]) -> None:
    try:
        if not isinstance(d, Mapping):
            raise ResourcesError("expected a dict")
        name = d.get("name")
        if not isinstance(name, str) or not name:
            raise ResourcesError("missing or empty name")
        role = d.get("role")
        if role is None:
            resv = d.get("reservations")
            if isinstance(resv, list) and resv and isinstance(resv[-1], Mapping):
                role = resv[-1].get("role")
            role = role if isinstance(role, str) and role else default_role
        _check_key(name, role)
        kind = d.get("type")
        if kind is None:
            kind = next((k.upper() for k in ("scalar", "ranges", "set") if k in d), None)
        if kind == "SCALAR":
            sc = d.get("scalar")
            v = _scalar(name, sc.get("value") if isinstance(sc, Mapping) else None)
            s[(name, role)] = s.get((name, role), 0.0) + v
        elif kind == "RANGES":
            rg = d.get("ranges")
            lst = rg.get("range", []) if isinstance(rg, Mapping) else None
            if not isinstance(lst, list) or not all(isinstance(x, Mapping) for x in lst):
                raise ResourcesError("ranges must be {'range': [{'begin': b, 'end': e}, ...]}")
            r.setdefault((name, role), []).extend(_range(name, x.get("begin"), x.get("end")) for x in lst)
        elif kind == "SET":
            raise ResourcesError("set resources are not supported")
        else:
            raise ResourcesError(f"unknown type {kind!r}")
    except ResourcesError as exc:
        raise ResourcesError(f"bad resource {d!r}: {exc}") from None


def parse_min_allocatable(text: str) -> tuple[dict[str, float], ...]:
    """Parse Mesos' ``--min_allocatable_resources`` (``cpus:0.01|mem:32``;
    ``;`` is AND inside a set, ``|`` is OR between sets; ranges count values)."""
    out = []
    for part in text.split("|"):
        res = Resources.parse(part)
        if not res:
            raise ResourcesError(f"bad min_allocatable_resources {text!r}: empty set in {part!r}")
        out.append({n: res.quantity(n) for n in sorted(res.names())})
    return tuple(out)


def is_allocatable(res: Resources, minimums: Iterable[Mapping[str, float]] | None = None) -> bool:
    """Mesos' rule: offerable iff ``res`` meets at least one minimum set (default: at
    least ``MIN_CPUS`` cpus or ``MIN_MEM`` mem; so disk or ports alone are not)."""
    if minimums is None:
        q = res.quantities()
        return q.get("cpus", 0.0) >= MIN_CPUS - _EPS or q.get("mem", 0.0) >= MIN_MEM - _EPS
    return bool(res) and any(all(res.quantity(n) >= v - _EPS for n, v in m.items()) for m in minimums)
