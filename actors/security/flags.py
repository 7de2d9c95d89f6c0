"""The master's security flags (Mesos' names), mixed into MasterConfig, and their validation."""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.security.acls import AclError, Acls, load_acls
from actors.security.credentials import Credential, CredentialsError, load_credentials

__all__ = ["AgentSecurityFlags", "MasterSecurityFlags"]


@dataclass
class MasterSecurityFlags:
    authenticate_frameworks: bool = field(default=False, metadata={
        "help": "only frameworks that authenticated (principal and secret, see --credentials) may register"})
    authenticate_agents: bool = field(default=False, metadata={
        "help": "only agents that authenticated (their --credential) may register"})
    credentials: str = field(default="", metadata={
        "help": "path (or file:///path) of Mesos' credentials JSON {\"credentials\": [{\"principal\", \"secret\"}]}"})
    acls: str = field(default="", metadata={
        "help": "Mesos' ACLs JSON, or a path to it (see docs/security.md); empty: everything is allowed"})
    authenticate_http_readonly: bool = field(default=False, metadata={
        "help": "GET endpoints need HTTP Basic credentials (from --credentials)"})
    authenticate_http_readwrite: bool = field(default=False, metadata={
        "help": "endpoints that change state (POST, DELETE...) need HTTP Basic credentials"})
    authenticate_http_frameworks: bool = field(default=False, metadata={
        "help": "the scheduler HTTP API (/api/v1/scheduler) needs HTTP Basic credentials"})

    def load_security(self) -> tuple[dict[str, Credential], Acls]:
        """The credentials and ACLs the flags name; ValueError naming the flag and the fault."""
        needs = [name for name in ("authenticate_frameworks", "authenticate_agents", "authenticate_http_readonly",
                                   "authenticate_http_readwrite", "authenticate_http_frameworks")
                 if getattr(self, name)]
        if needs and not self.credentials:
            raise ValueError(f"--{needs[0]} needs --credentials=FILE (the principals and secrets)")
        try:
            credentials = load_credentials(self.credentials) if self.credentials else {}
            acls = load_acls(self.acls)
        except (CredentialsError, AclError) as e:
            raise ValueError(str(e)) from None
        return credentials, acls

    def http_authenticate(self) -> frozenset[str]:
        """The request classes (actors/security/http_auth.py) needing credentials."""
        return frozenset(kind for kind in ("readonly", "readwrite", "frameworks")
                         if getattr(self, f"authenticate_http_{kind}"))


@dataclass
class AgentSecurityFlags:
    """The agent's HTTP security flags (Mesos' names), mixed into AgentConfig."""

    acls: str = field(default="", metadata={
        "help": "Mesos' ACLs JSON, or a path to it: access_sandboxes on /files/*, view_* on /state, get_endpoints"})
    http_credentials: str = field(default="", metadata={
        "help": "path of Mesos' credentials JSON for HTTP Basic authentication of the agent's endpoints"})
    authenticate_http_readonly: bool = field(default=False, metadata={
        "help": "GET endpoints need HTTP Basic credentials (from --http_credentials)"})
    authenticate_http_readwrite: bool = field(default=False, metadata={
        "help": "endpoints that change state (POST...) need HTTP Basic credentials; executors use their tokens"})

    def load_security(self) -> tuple[dict[str, Credential], Acls]:
        """The HTTP credentials and ACLs the flags name; ValueError naming the flag and the fault."""
        needs = [n for n in ("authenticate_http_readonly", "authenticate_http_readwrite") if getattr(self, n)]
        if needs and not self.http_credentials:
            raise ValueError(f"--{needs[0]} needs --http_credentials=FILE (the principals and secrets)")
        try:
            credentials = load_credentials(self.http_credentials, "http_credentials") if self.http_credentials else {}
            acls = load_acls(self.acls)
        except (CredentialsError, AclError) as e:
            raise ValueError(str(e)) from None
        return credentials, acls

    def http_authenticate(self) -> frozenset[str]:
        return frozenset(kind for kind in ("readonly", "readwrite") if getattr(self, f"authenticate_http_{kind}"))
