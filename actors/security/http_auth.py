"""HTTP Basic authentication and endpoint authorization for masters and agents (pure: a request's
method, path and headers in, a decision out).

Requests are in one of three classes, as Mesos' ``--authenticate_http_*`` flags
name them: ``frameworks`` (the scheduler API, ``/api/v1/scheduler``),
``readwrite`` (any method but GET and HEAD) and ``readonly`` (GET and HEAD).
``/version``, the health checks and the web UI's static files are open to all
(they show no cluster data). When a class's flag is on, a request without
valid Basic credentials (against the ``--credentials`` file) is answered 401
with ``WWW-Authenticate: Basic realm="mesos"``; with it off, valid credentials
still name the principal (bad ones are ignored). Then the ``get_endpoints``
ACL decides for Mesos' protected endpoints (403 when refused).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from actors.entitlement import Entitlements
from actors.security.acls import Acls
from actors.security.credentials import Credential

__all__ = ["OPEN_PATHS", "PROTECTED_ENDPOINTS", "REALM", "HttpDecision", "HttpGuard", "basic_credentials",
           "request_class"]

REALM = "mesos"
OPEN_PATHS = frozenset({"/version", "/health", "/master/health", "/agent/health", "/slave(1)/health", "/"})
OPEN_PREFIXES = ("/webui/",)
#: Endpoints the get_endpoints ACL guards (Mesos' list, with our paths for the same data).
PROTECTED_ENDPOINTS = frozenset({
    "/metrics/snapshot", "/metrics", "/master/flags", "/flags", "/agent/flags", "/slave(1)/flags",
    "/logging/toggle", "/files/debug", "/monitor/statistics", "/containers",
})


def basic_credentials(header: str) -> tuple[str, str] | None:
    """``Basic base64(principal:secret)`` -> (principal, secret); None if it is not that."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value or len(value) > 4096:
        return None
    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    principal, sep, secret = text.partition(":")
    return (principal, secret) if sep and principal else None


def request_class(method: str, path: str) -> str | None:
    """"frameworks", "readwrite", "readonly", or None for the open paths."""
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return None
    if path == "/api/v1/scheduler":
        return "frameworks"
    return "readonly" if method in ("GET", "HEAD") else "readwrite"


@dataclass(frozen=True)
class HttpDecision:
    """``principal`` (None: anonymous); ``status`` 0 to serve, else 401/403 with ``message``, ``headers``."""

    principal: str | None = None
    status: int = 0
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class HttpGuard:
    """One per HTTP server; ``authenticate`` names the classes needing credentials; ``own_auth``:
    paths whose clients authenticate otherwise (the agent's executor API: its executors' tokens)."""

    def __init__(self, credentials: Mapping[str, Credential], acls: Acls, authenticate: frozenset[str],
                 role: str = "master_http", own_auth: frozenset[str] = frozenset()) -> None:
        self.credentials = credentials
        self.acls = acls
        self.authenticate = authenticate
        self.own_auth = own_auth
        self.refused = Entitlements(role, {})  # counted by (class, reason), logged bounded

    def _principal(self, headers: Mapping[str, str]) -> tuple[str | None, str]:
        header = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if header is None:
            return None, "missing_credentials"
        pair = basic_credentials(header)
        cred = self.credentials.get(pair[0]) if pair is not None else None
        if pair is None or cred is None or not hmac.compare_digest(cred.secret.encode(), pair[1].encode()):
            return None, "wrong_credentials"
        return pair[0], ""

    def check(self, method: str, path: str, headers: Mapping[str, str], peer: str = "") -> HttpDecision:
        kind = request_class(method, path)
        if kind is None or path in self.own_auth:
            return HttpDecision()
        principal, fault = self._principal(headers)
        if kind in self.authenticate and principal is None:
            self.refused.refuse(peer, kind, fault)
            text = "no credentials given" if fault == "missing_credentials" else "wrong principal or secret"
            return HttpDecision(None, 401, f"{path} needs HTTP Basic authentication: {text}",
                                {"WWW-Authenticate": f'Basic realm="{REALM}"'})
        if path in PROTECTED_ENDPOINTS and not self.acls.authorize("get_endpoints", principal, path):
            self.refused.refuse(peer, kind, "get_endpoints_refused")
            return HttpDecision(principal, 403, f"principal {principal!r} may not GET {path} (get_endpoints ACL)")
        return HttpDecision(principal)
