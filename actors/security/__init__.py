"""Security: credentials files, the authentication exchange, Mesos' ACLs and HTTP Basic
authentication (pure cores; the master, agent and drivers call them). See docs/security.md."""

from actors.security.acls import ACTIONS, AclError, Acls, load_acls, parse_acls
from actors.security.credentials import (
    Credential,
    CredentialsError,
    load_credential,
    load_credentials,
    parse_credentials,
)
from actors.security.exchange import Authenticator, ClientExchange

__all__ = [
    "ACTIONS", "AclError", "Acls", "Authenticator", "ClientExchange", "Credential", "CredentialsError",
    "load_acls", "load_credential", "load_credentials", "parse_acls", "parse_credentials",
]
