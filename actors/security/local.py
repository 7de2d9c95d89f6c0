"""A secured one-process cluster's credentials, made up on the spot (``LocalCluster(secure=True)``,
``mesopy-local --secure``): random secrets for a framework principal, the agents and an operator,
a CURVE key pair for the cluster's node, written (mode 0600) under the cluster's work_dir, and the
flags that turn every check on."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from transport.curve import CurveKeys, write_key_files
from transport.endpoint import generate_key_pair

__all__ = ["FRAMEWORK_PRINCIPAL", "OPERATOR_PRINCIPAL", "SecureSetup", "secure_setup"]

FRAMEWORK_PRINCIPAL = "framework"
AGENT_PRINCIPAL = "agent"
OPERATOR_PRINCIPAL = "operator"


@dataclass(frozen=True)
class SecureSetup:
    """``principal``/``secret`` for drivers, ``operator``/``operator_secret`` for HTTP Basic."""

    principal: str
    secret: str = field(repr=False)
    operator: str
    operator_secret: str = field(repr=False)
    credentials_file: str
    master_flags: dict[str, Any]
    agent_flags: dict[str, Any]
    curve: CurveKeys  # the cluster node's pair: its links are encrypted
    master_public_key: str  # give it to drivers (master_public_key=) and mesopy-execute
    master_public_key_file: str  # the same, as ZeroMQ's public key file


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def secure_setup(directory: str) -> SecureSetup:
    """Write ``credentials.json`` and ``agent.credential`` into ``directory`` (made if needed)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    creds = {name: secrets.token_urlsafe(24) for name in (FRAMEWORK_PRINCIPAL, AGENT_PRINCIPAL, OPERATOR_PRINCIPAL)}
    credentials = os.path.join(directory, "credentials.json")
    _write(credentials, json.dumps({"credentials": [{"principal": p, "secret": s} for p, s in creds.items()]}))
    agent = os.path.join(directory, "agent.credential")
    _write(agent, json.dumps({"principal": AGENT_PRINCIPAL, "secret": creds[AGENT_PRINCIPAL]}))
    master_flags = {"authenticate_frameworks": True, "authenticate_agents": True, "credentials": credentials,
                    "authenticate_http_readonly": True, "authenticate_http_readwrite": True,
                    "authenticate_http_frameworks": True}
    agent_flags = {"credential": agent, "authenticate_http_executors": True, "http_credentials": credentials,
                   "authenticate_http_readonly": True, "authenticate_http_readwrite": True}
    curve = generate_key_pair()
    public_file, _ = write_key_files(directory, "master", curve)
    return SecureSetup(FRAMEWORK_PRINCIPAL, creds[FRAMEWORK_PRINCIPAL], OPERATOR_PRINCIPAL,
                       creds[OPERATOR_PRINCIPAL], credentials, master_flags, agent_flags, curve,
                       curve.public.decode(), public_file)
