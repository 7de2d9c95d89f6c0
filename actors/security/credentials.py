"""Credentials files in Mesos' formats (pure: text in, records out; ``load`` reads the file).

The master's ``--credentials`` file is Mesos' JSON::

    {"credentials": [{"principal": "fw1", "secret": "s3cret"}, ...]}

or, as Mesos also accepts, one ``principal secret`` pair per line. An agent's
``--credential`` file holds one credential: ``{"principal": ..., "secret": ...}``
or one ``principal secret`` line. Either path may be given as ``file:///path``.
Every error names the file and what is wrong with it; a secret is never shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Credential", "CredentialsError", "load_credential", "load_credentials", "parse_credentials"]

MAX_CREDENTIALS = 100_000
MAX_FIELD = 1024


class CredentialsError(ValueError):
    """A credentials file that cannot be used; the message names the file and the fault."""


@dataclass(frozen=True)
class Credential:
    principal: str
    secret: str = ""

    def __repr__(self) -> str:  # never print a secret
        return f"Credential(principal={self.principal!r})"


def _path(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def _read(flag: str, path: str) -> str:
    try:
        with open(_path(path), encoding="utf-8") as f:
            return f.read(16 << 20)
    except (OSError, UnicodeDecodeError) as e:
        raise CredentialsError(f"--{flag}: cannot read {path!r}: {getattr(e, 'strerror', None) or e}") from None


def _credential(where: str, entry: Any) -> Credential:
    if not isinstance(entry, dict):
        raise CredentialsError(f"{where} must be an object with principal and secret, got {type(entry).__name__}")
    principal, secret = entry.get("principal"), entry.get("secret", "")
    if not isinstance(principal, str) or not principal or len(principal) > MAX_FIELD:
        raise CredentialsError(f"{where}: principal must be a non-empty text of at most {MAX_FIELD} characters")
    if not isinstance(secret, str) or len(secret) > MAX_FIELD:
        raise CredentialsError(f"{where} (principal {principal!r}): secret must be a text of at most "
                               f"{MAX_FIELD} characters")
    return Credential(principal, secret)


def _lines(where: str, text: str) -> list[Credential]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise CredentialsError(f"{where} line {n}: expected 'principal secret', got {len(parts)} word(s)")
        out.append(_credential(f"{where} line {n}", {"principal": parts[0], "secret": parts[1]}))
    return out


def _json(where: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise CredentialsError(f"{where}: not valid JSON: {e}") from None


def parse_credentials(text: str, where: str = "credentials") -> dict[str, Credential]:
    """Mesos' Credentials JSON (or ``principal secret`` lines) -> principal -> Credential."""
    stripped = text.strip()
    if stripped.startswith("{"):
        doc = _json(where, stripped)
        entries = doc.get("credentials") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise CredentialsError(f"{where}: expected {{\"credentials\": [{{\"principal\", \"secret\"}}, ...]}}")
        creds = [_credential(f"{where}: credentials[{i}]", e) for i, e in enumerate(entries)]
    else:
        creds = _lines(where, text)
    if len(creds) > MAX_CREDENTIALS:
        raise CredentialsError(f"{where}: {len(creds)} credentials, at most {MAX_CREDENTIALS}")
    out: dict[str, Credential] = {}
    for cred in creds:
        if cred.principal in out:
            raise CredentialsError(f"{where}: principal {cred.principal!r} is listed twice")
        out[cred.principal] = cred
    return out


def load_credentials(path: str, flag: str = "credentials") -> dict[str, Credential]:
    """The master's ``--credentials`` file."""
    return parse_credentials(_read(flag, path), f"--{flag} {path!r}")


def load_credential(path: str, flag: str = "credential") -> Credential:
    """An agent's ``--credential`` file: exactly one credential."""
    text = _read(flag, path)
    where = f"--{flag} {path!r}"
    stripped = text.strip()
    if stripped.startswith("{"):
        doc = _json(where, stripped)
        if isinstance(doc, dict) and "credentials" in doc:
            creds = list(parse_credentials(stripped, where).values())
        else:
            creds = [_credential(where, doc)]
    else:
        creds = _lines(where, text)
    if len(creds) != 1:
        raise CredentialsError(f"{where}: expected exactly one credential, found {len(creds)}")
    return creds[0]
