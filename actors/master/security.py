"""The master's security: the authentication exchange's handlers, the gate every registration passes,
and ``authorize(action, principal, object)`` for the handlers (pure: ``now`` and nonces come in).

- ``Authenticate`` / ``AuthenticationResponse`` run actors/security/exchange.py's
  ``Authenticator``; the principal a pid authenticated as is kept until the pid
  exits (or is pushed out of the bounded table).
- ``admit`` runs before a registration's handler: with ``--authenticate_frameworks``
  (``--authenticate_agents``) an unauthenticated framework (agent) is refused;
  an authenticated framework's FrameworkInfo.principal must be the one it
  authenticated as; ``register_frameworks`` must allow the principal each of
  its roles. Frameworks get a FrameworkError naming the reason, agents an
  AuthenticationFailed; each refusal is counted by (message type, reason).
- ``permit`` checks an action on its objects (actors/security/objects.py) for the
  handlers and endpoints that perform it: the refusal's text, counted by (the
  message type or the action, ``not_authorized``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

import structlog

from actors.entitlement import Entitlements
from actors.master.config import MasterConfig
from actors.master.model import Effect, Send, framework_roles
from actors.security.exchange import NONCE_BYTES, Authenticator, Challenge, Completed
from actors.security.objects import refusal
from actors.v1_api import is_http_pid
from transport import messages as m

__all__ = ["MasterSecurity"]

log = structlog.get_logger(__name__)
_FRAMEWORK_REGISTRATIONS = (m.RegisterFramework, m.ReregisterFramework)
_AGENT_REGISTRATIONS = (m.RegisterAgent, m.ReregisterAgent)


class MasterSecurity:
    def __init__(self, config: MasterConfig, master_pid: str,
                 nonce: Callable[[int], bytes] = secrets.token_bytes) -> None:
        self.config = config
        self.credentials, self.acls = config.load_security()
        self.authenticator = Authenticator(self.credentials, master_pid)
        self.refused = Entitlements("master_security", {})  # counted by (type, reason); logged bounded
        self._nonce = nonce
        # Any authentication on: peers must authenticate for more than registering (e.g. the state).
        self.enabled = any(getattr(config, f) for f in (
            "authenticate_frameworks", "authenticate_agents", "authenticate_http_readonly",
            "authenticate_http_readwrite", "authenticate_http_frameworks"))

    # --- the exchange -----------------------------------------------------------

    def authenticate(self, sender: str, msg: m.Authenticate, now: float, out: list[Effect]) -> None:
        result = self.authenticator.start(sender, msg.principal, msg.mechanism, msg.nonce,
                                          self._nonce(NONCE_BYTES), now)
        if isinstance(result, Challenge):
            out.append(Send(sender, m.AuthenticationChallenge(nonce=result.nonce)))
            return
        self.refused.refuse(sender, "Authenticate", result.reason)
        out.append(Send(sender, m.AuthenticationFailed(message=result.message)))

    def respond(self, sender: str, msg: m.AuthenticationResponse, now: float, out: list[Effect]) -> None:
        result = self.authenticator.respond(sender, msg.proof, now)
        if isinstance(result, Completed):
            log.info("peer_authenticated", pid=sender, principal=result.principal)
            out.append(Send(sender, m.AuthenticationCompleted(proof=result.proof)))
            return
        self.refused.refuse(sender, "AuthenticationResponse", result.reason)
        out.append(Send(sender, m.AuthenticationFailed(message=result.message)))

    def principal(self, sender: str) -> str | None:
        return self.authenticator.principal(sender)

    def forget(self, pid: str) -> None:
        self.authenticator.forget(pid)

    # --- registrations and actions ------------------------------------------------

    def authorize(self, action: str, principal: str | None, obj: str | None) -> bool:
        """Mesos' local authorizer over ``--acls`` (actors/security/acls.py)."""
        return self.acls.authorize(action, principal, obj)

    def permit(self, action: str, principal: str | None, objects: Iterable[str | None], kind: str,
               sender: str = "") -> str:
        """"" when ``principal`` may do ``action`` on each of ``objects``; else the refusal's text,
        counted as (``kind``, ``not_authorized``): a message type, or the action for HTTP calls."""
        text = refusal(self.acls, action, principal, objects)
        if text:
            self.refused.refuse(sender, kind, "not_authorized")
        return text

    def admit(self, sender: str, msg: Any, out: list[Effect]) -> bool:
        if isinstance(msg, _FRAMEWORK_REGISTRATIONS):
            error, reason = self._framework_refusal(sender, msg)
            if error:
                self.refused.refuse(sender, type(msg).__name__, reason)
                out.append(Send(sender, m.FrameworkError(message=error)))
                return False
        elif isinstance(msg, _AGENT_REGISTRATIONS):
            if self.config.authenticate_agents and self.principal(sender) is None:
                self.refused.refuse(sender, type(msg).__name__, "not_authenticated")
                out.append(Send(sender, m.AuthenticationFailed(
                    message=f"Agent at {sender} is not authenticated (the master runs with --authenticate_agents)")))
                return False
        return True

    def _framework_refusal(self, sender: str, msg: Any) -> tuple[str, str]:
        info = msg.framework if isinstance(msg.framework, dict) else {}
        claimed = info.get("principal") if isinstance(info.get("principal"), str) else ""
        authenticated = self.principal(sender)
        # An HTTP framework authenticates over HTTP (--authenticate_http_frameworks), as in Mesos.
        if authenticated is None and self.config.authenticate_frameworks and not is_http_pid(sender):
            return (f"Framework at {sender} is not authenticated (the master runs with --authenticate_frameworks)",
                    "not_authenticated")
        if authenticated is not None and claimed != authenticated:
            return (f"Framework principal {claimed!r} does not match authenticated principal {authenticated!r}",
                    "principal_mismatch")
        principal = claimed or None
        refused = [r for r in framework_roles(info) if not self.authorize("register_frameworks", principal, r)]
        if refused:
            return (f"Not authorized to use roles {refused!r} as principal {principal!r} (register_frameworks ACL)",
                    "not_authorized")
        return "", ""
