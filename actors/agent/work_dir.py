"""The agent's --work_dir: made (if missing) and proved writable before the agent starts,
so a path that cannot hold sandboxes is refused at once instead of failing every task."""

from __future__ import annotations

import os
import tempfile

from actors.agent.config import ConfigError

__all__ = ["WorkDirError", "prepare_work_dir"]


class WorkDirError(ConfigError):
    """--work_dir cannot be used; the message names the path and the reason."""


def prepare_work_dir(path: str) -> None:
    """Create ``path`` if missing and check that a file can be made in it.

    Raises WorkDirError: ``--work_dir: cannot use '/proc/nope': cannot create it: No such file or directory``.
    """
    def refuse(reason: str) -> WorkDirError:
        return WorkDirError(f"--work_dir: cannot use {path!r}: {reason}")

    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise refuse("it exists and is not a directory") from None
    except OSError as e:
        raise refuse(f"cannot create it: {e.strerror or e}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".mesopy-probe-", dir=path)
    except OSError as e:
        raise refuse(f"cannot write in it: {e.strerror or e}") from None
    os.close(fd)
    os.unlink(probe)
