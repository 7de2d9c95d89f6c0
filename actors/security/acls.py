"""Authorization by Mesos' ACLs (the ``--acls`` JSON), evaluated as Mesos' local authorizer does.

::

    {"permissive": false,
     "register_frameworks": [{"principals": {"values": ["web"]}, "roles": {"values": ["web"]}},
                             {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}],
     "run_tasks": [{"principals": {"values": ["web"]}, "users": {"values": ["www-data"]}}]}

An entity is ``{"values": [...]}`` (some), ``{"type": "ANY"}`` or ``{"type": "NONE"}``.
For a request (action, principal, object) the ACLs of the action are tried in
order; the first whose subject and object both *match* decides: allowed unless
one of them is NONE or does not contain the request's value. When none
matches, ``permissive`` (default true) decides. A request without a principal
(unauthenticated) or without an object is "any" and matches only ANY or NONE
entities.

For the actions on roles (``HIERARCHICAL``), a value ending in ``/%`` is Mesos'
recursive role wildcard: ``"eng/%"`` matches every role below ``eng``
(``eng/web``, ``eng/web/dev``), not ``eng`` itself. As Mesos' local authorizer
does, each such value becomes an ACL of its own (in the entry's place, before
the entry's other values), and a role it matches is decided by the entry's
principals alone. Elsewhere ``/%`` is ordinary text. Pure: no I/O except
``load_acls`` reading the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ACTIONS", "HIERARCHICAL", "AclError", "Acls", "load_acls", "parse_acls"]

#: action -> (its key in the JSON, its object's key). Subjects are always "principals".
ACTIONS: dict[str, tuple[str, str]] = {
    "register_frameworks": ("register_frameworks", "roles"),
    "run_tasks": ("run_tasks", "users"),
    "teardown_frameworks": ("teardown_frameworks", "framework_principals"),
    "reserve_resources": ("reserve_resources", "roles"),
    "unreserve_resources": ("unreserve_resources", "reserver_principals"),
    "create_volumes": ("create_volumes", "roles"),
    "destroy_volumes": ("destroy_volumes", "creator_principals"),
    "update_quota": ("update_quotas", "roles"),
    "view_frameworks": ("view_frameworks", "users"),
    "view_tasks": ("view_tasks", "users"),
    "view_executors": ("view_executors", "users"),
    "view_roles": ("view_roles", "roles"),
    "get_quotas": ("get_quotas", "roles"),
    "access_sandboxes": ("access_sandboxes", "users"),
    "get_endpoints": ("get_endpoints", "paths"),
}
#: The actions whose role objects take Mesos' recursive ``role/%`` wildcards.
HIERARCHICAL = frozenset({"register_frameworks", "reserve_resources", "create_volumes", "update_quota",
                          "view_roles", "get_quotas"})
_KEYS = {key: action for action, (key, _) in ACTIONS.items()}
MAX_ACLS = 10_000


class AclError(ValueError):
    """A bad ACL document; the message names the entry."""


@dataclass(frozen=True)
class _Entity:
    kind: str  # "SOME", "ANY" or "NONE"
    values: frozenset[str] = frozenset()
    below: str = ""  # a recursive role ACL's "eng/" (from "eng/%"): it matches the roles starting so

    def matches(self, value: str | None) -> bool:
        if self.below:
            return value is not None and value.startswith(self.below)
        if value is None:
            return self.kind == "ANY"
        return self.kind != "SOME" or value in self.values

    def allows(self, value: str | None) -> bool:
        if self.below:  # matched: a descendant, allowed as by an ANY object
            return True
        if value is None:
            return self.kind == "ANY"
        return self.kind == "ANY" or (self.kind == "SOME" and value in self.values)


def _entity(where: str, doc: Any) -> _Entity:
    if not isinstance(doc, dict):
        raise AclError(f"{where} must be {{\"values\": [...]}} or {{\"type\": \"ANY\"|\"NONE\"}}, got {doc!r:.80}")
    if "values" in doc:
        values = doc["values"]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise AclError(f"{where}.values must be a list of texts, got {values!r:.80}")
        return _Entity("SOME", frozenset(values))
    kind = doc.get("type", "SOME")
    if kind not in ("ANY", "NONE"):
        raise AclError(f"{where}.type must be ANY or NONE (or give values), got {kind!r:.40}")
    return _Entity(kind)


def _recursive(entity: _Entity) -> list[_Entity]:
    """A role entity split as Mesos' local authorizer splits it: one recursive entity per ``x/%``
    value (sorted, for a stable order), then the other values together (if any)."""
    if entity.kind != "SOME":
        return [entity]
    wild = sorted(v for v in entity.values if v.endswith("/%"))
    if not wild:
        return [entity]
    rest = entity.values.difference(wild)
    return [_Entity("SOME", frozenset([v]), below=v[:-1]) for v in wild] + ([_Entity("SOME", rest)] if rest else [])


class Acls:
    """``authorize(action, principal, object)``; ``unenforced`` lists the document's keys mesopy does not know."""

    def __init__(self, permissive: bool = True, rules: Mapping[str, list[tuple[_Entity, _Entity]]] | None = None,
                 unenforced: tuple[str, ...] = ()) -> None:
        self.permissive = permissive
        self.rules = dict(rules or {})
        self.unenforced = unenforced

    def authorize(self, action: str, principal: str | None, obj: str | None) -> bool:
        """May ``principal`` (None: unauthenticated) do ``action`` on ``obj`` (None: any)?"""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; known: {', '.join(sorted(ACTIONS))}")
        for subjects, objects in self.rules.get(action, ()):
            if subjects.matches(principal) and objects.matches(obj):
                return subjects.allows(principal) and objects.allows(obj)
        return self.permissive

    def restricts(self, action: str) -> bool:
        """False when every request of ``action`` is allowed (no rules and permissive)."""
        return bool(self.rules.get(action)) or not self.permissive


def parse_acls(text: str, where: str = "--acls") -> Acls:
    """Mesos' ACLs JSON -> Acls; AclError naming the faulty entry."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise AclError(f"{where}: not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise AclError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    permissive = doc.get("permissive", True)
    if not isinstance(permissive, bool):
        raise AclError(f"{where}: permissive must be true or false, got {permissive!r:.40}")
    rules: dict[str, list[tuple[_Entity, _Entity]]] = {}
    unenforced = []
    count = 0
    for key, entries in doc.items():
        if key == "permissive":
            continue
        action = _KEYS.get(key)
        if action is None:
            unenforced.append(key)
            continue
        if not isinstance(entries, list):
            raise AclError(f"{where}: {key} must be a list of ACLs, got {type(entries).__name__}")
        object_key = ACTIONS[action][1]
        for i, entry in enumerate(entries):
            here = f"{where}: {key}[{i}]"
            if not isinstance(entry, dict) or "principals" not in entry or object_key not in entry:
                raise AclError(f"{here} must have 'principals' and '{object_key}'")
            subjects = _entity(f"{here}.principals", entry["principals"])
            objects = _entity(f"{here}.{object_key}", entry[object_key])
            for part in (_recursive(objects) if action in HIERARCHICAL else [objects]):
                rules.setdefault(action, []).append((subjects, part))
                count += 1
    if count > MAX_ACLS:
        raise AclError(f"{where}: {count} ACLs, at most {MAX_ACLS}")
    return Acls(permissive, rules, tuple(unenforced))


def load_acls(value: str) -> Acls:
    """``--acls``: the JSON itself, or a path (``file://`` accepted) to it, as Mesos takes it."""
    if not value.strip():
        return Acls()
    if value.lstrip().startswith("{"):
        return parse_acls(value)
    path = value[len("file://"):] if value.startswith("file://") else value
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(16 << 20)
    except (OSError, UnicodeDecodeError) as e:
        raise AclError(f"--acls: cannot read {value!r}: {getattr(e, 'strerror', None) or e}") from None
    return parse_acls(text, f"--acls {value!r}")
