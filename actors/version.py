"""Versions: mesopy's own release, and the Mesos API level whose behaviour it matches.

Clients gate features on the Mesos version (pymesos adds GPU_RESOURCES and
takes its modern code paths at >= 1.0.0), so ``master_info["version"]`` and
``GET /version`` report ``MESOS_VERSION``; ``--version`` prints both.
"""

from __future__ import annotations

__all__ = ["MESOPY_VERSION", "MESOS_VERSION", "version_line"]

MESOPY_VERSION = "0.1.0"
MESOS_VERSION = "1.11.0"


def version_line(program: str) -> str:
    """The one line every script prints for ``--version``."""
    return f"{program} {MESOPY_VERSION} (Mesos API {MESOS_VERSION})"
