"""The sandbox file API behind /files/browse, /files/read and /files/download.

Only files inside the agent's sandboxes (``work_dir/slaves/``) are served. A
path is either a sandbox's real path (``directory`` in the agent's state) or
Mesos' virtual form ``/frameworks/FID/executors/EID/runs/latest[/...]`` (the
newest run of that executor). A path with a ``..`` component, or one whose
real path (symlinks resolved) leaves the sandboxes, is refused with
FilesError(403); a missing one is FilesError(404). ``sandbox_of`` names the
executor whose sandbox a real path is in (for the access_sandboxes ACL). Blocking
file I/O: call these off the event loop.
"""

from __future__ import annotations

import glob
import grp
import os
import pwd
import stat
from typing import Any

__all__ = ["MAX_READ_BYTES", "FilesError", "SandboxFiles"]

MAX_READ_BYTES = 1 << 20  # one /files/read answers at most this many bytes


class FilesError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _name(lookup: Any, ident: int) -> str:
    try:
        return str(lookup(ident)[0])
    except KeyError:
        return str(ident)


class SandboxFiles:
    """The file API over the sandboxes under ``work_dir``."""

    def __init__(self, work_dir: str) -> None:
        self.root = os.path.join(os.path.realpath(work_dir), "slaves")

    def resolve(self, path: str) -> str:
        """The real path of ``path`` inside the sandboxes, or FilesError (400, 403, 404)."""
        if not path:
            raise FilesError(400, "parameter 'path' is required")
        if "\x00" in path:
            raise FilesError(400, "parameter 'path' contains a NUL byte")
        if ".." in path.split("/"):
            raise FilesError(403, f"path {path!r} has a '..' component")
        if path.startswith("/frameworks/"):
            path = self._virtual(path)
        if not os.path.isabs(path):
            raise FilesError(403, f"path {path!r} is not absolute")
        real = os.path.realpath(path)
        if real != self.root and not real.startswith(self.root + os.sep):
            raise FilesError(403, f"path {path!r} is outside the sandboxes")
        if not os.path.exists(real):
            raise FilesError(404, f"no such file or directory {path!r}")
        return real

    def sandbox_of(self, real: str) -> tuple[str, str] | None:
        """(framework id, executor id) of the sandbox holding the resolved path ``real``; None
        above the executors' directories (``work_dir/slaves/AID/frameworks/FID/executors/EID/...``)."""
        parts = os.path.relpath(real, self.root).split(os.sep)
        if len(parts) < 5 or parts[1] != "frameworks" or parts[3] != "executors":
            return None
        return parts[2], parts[4]

    def _virtual(self, path: str) -> str:
        parts = path.strip("/").split("/")
        if len(parts) < 6 or parts[2] != "executors" or parts[4] != "runs" or parts[5] != "latest":
            raise FilesError(404, f"path {path!r} is not /frameworks/FID/executors/EID/runs/latest[/file]")
        fid, eid = glob.escape(parts[1]), glob.escape(parts[3])
        runs = glob.glob(os.path.join(glob.escape(self.root), "*", "frameworks", fid, "executors", eid, "runs", "*"))
        runs = [r for r in runs if os.path.isdir(r) and not os.path.islink(r)]
        if not runs:
            raise FilesError(404, f"no sandbox of executor {parts[3]!r} of framework {parts[1]!r}")
        return os.path.join(max(runs, key=os.path.getmtime), *parts[6:])

    def browse(self, path: str) -> list[dict[str, Any]]:
        """Mesos' /files/browse: one entry per directory member (a file: itself)."""
        real = self.resolve(path)
        shown = path.rstrip("/") or "/"
        if not os.path.isdir(real):
            return [self._entry(shown, os.lstat(real))]
        out = []
        for name in sorted(os.listdir(real)):
            try:
                st = os.lstat(os.path.join(real, name))
            except FileNotFoundError:
                continue
            out.append(self._entry(f"{shown.rstrip('/')}/{name}", st))
        return out

    @staticmethod
    def _entry(path: str, st: os.stat_result) -> dict[str, Any]:
        return {"path": path, "nlink": st.st_nlink, "size": st.st_size, "mtime": st.st_mtime,
                "mode": stat.filemode(st.st_mode), "uid": _name(pwd.getpwuid, st.st_uid),
                "gid": _name(grp.getgrgid, st.st_gid)}

    def read(self, path: str, offset: int, length: int | None) -> dict[str, Any]:
        """Mesos' /files/read: ``{"offset", "data"}``; offset -1 answers the size and no data.
        Data starts and ends on a whole UTF-8 character (``offset`` is where it really starts, past
        the rest of a character begun before), so ``offset + len(data.encode())`` is the next offset."""
        if offset == -1:
            return {"offset": self.read_bytes(path, 0, 0)[0], "data": ""}
        data = self.read_bytes(path, offset, length)[1]
        skip = _continuation_bytes(data) if offset > 0 else 0  # inside a character: start at the next one
        return {"offset": offset + skip, "data": _whole_utf8(data[skip:])}

    def read_bytes(self, path: str, offset: int, length: int | None) -> tuple[int, bytes]:
        """(the file's size, up to ``length`` bytes (at most 1 MiB) from ``offset``)."""
        real = self.resolve(path)
        if os.path.isdir(real):
            raise FilesError(400, f"path {path!r} is a directory")
        size = os.path.getsize(real)
        want = MAX_READ_BYTES if length is None else min(length, MAX_READ_BYTES)
        with open(real, "rb") as f:
            f.seek(offset)
            return size, f.read(want)

    def download(self, path: str) -> str:
        real = self.resolve(path)
        if os.path.isdir(real):
            raise FilesError(400, f"path {path!r} is a directory")
        return real


def _continuation_bytes(data: bytes) -> int:
    """How many of ``data``'s first bytes (at most 3) continue a UTF-8 character begun before it."""
    n = 0
    while n < min(3, len(data)) and data[n] & 0xC0 == 0x80:
        n += 1
    return n


def _whole_utf8(data: bytes) -> str:
    """``data`` as text, less a trailing partial UTF-8 character (read again next time)."""
    for cut in range(len(data), max(len(data) - 4, 0) - 1, -1):
        try:
            return data[:cut].decode("utf-8")
        except UnicodeDecodeError as e:
            if e.start < max(len(data) - 4, 0):
                break
    return data.decode("utf-8", errors="replace")
