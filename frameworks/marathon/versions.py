"""The version history of each app (pure): every definition an app had (create, change, scale,
restart, rollback), newest last, at most MAX_VERSIONS per app (Marathon's --zk_max_versions)
and MAX_HISTORY_BYTES stored,
for ``GET /v2/apps/{appId}/versions[/{version}]`` and ``PUT /v2/apps/{appId}`` with
``{"version": ...}`` (back to that definition). Kept under the store key ``versions<app id>``
(one JSON value per app: ``{"id": ..., "versions": [...]}``), removed with the app."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_HISTORY_BYTES", "MAX_VERSIONS", "AppVersions"]

MAX_VERSIONS = 50
MAX_HISTORY_BYTES = 256 * 1024  # one app's stored history; the oldest versions go first


def _key(app_id: str) -> str:
    return "versions" + app_id


class AppVersions:
    """Bounded: MAX_VERSIONS definitions per app, one entry per app the core holds."""

    def __init__(self) -> None:
        self._by_app: dict[str, list[dict[str, Any]]] = {}  # app id -> definitions, oldest first

    def load(self, value: Mapping[str, Any]) -> None:
        """Restore one app's history (a value ``record`` gave to store)."""
        self._by_app[str(value["id"])] = [dict(v) for v in value["versions"]][-MAX_VERSIONS:]

    def record(self, app: Mapping[str, Any]) -> tuple[str, bytes]:
        """``app`` (stamped with its ``version``) is its newest definition: the store key and
        value that keep the history, to save with the app."""
        raw = json.dumps(app, sort_keys=True, separators=(",", ":"))
        history = [v for v in self._by_app.get(app["id"], []) if v["version"] != app["version"]]
        history.append(json.loads(raw))
        del history[:-MAX_VERSIONS]
        while True:  # and within MAX_HISTORY_BYTES (a ZooKeeper node holds 1 MB at most)
            raw_value = json.dumps({"id": app["id"], "versions": history}, sort_keys=True,
                                   separators=(",", ":")).encode()
            if len(raw_value) <= MAX_HISTORY_BYTES or len(history) == 1:
                break
            del history[: max(1, len(history) // 4)]
        self._by_app[app["id"]] = history
        return _key(app["id"]), raw_value

    def forget(self, app_id: str) -> str:
        """The app is gone: its history too; the store key to remove."""
        self._by_app.pop(app_id, None)
        return _key(app_id)

    def listing(self, app: Mapping[str, Any]) -> list[str]:
        """The versions of ``app``, newest first (its current one always among them)."""
        versions = [v["version"] for v in self._by_app.get(app["id"], [])]
        if app["version"] not in versions:  # state written before histories were kept
            versions.append(app["version"])
        return sorted(versions, reverse=True)

    def at(self, app: Mapping[str, Any], version: str) -> dict[str, Any] | None:
        """The definition ``app`` had at ``version`` (None: never, or dropped from the history)."""
        if version == app["version"]:
            return json.loads(json.dumps(app))
        found = next((v for v in self._by_app.get(app["id"], []) if v["version"] == version), None)
        return json.loads(json.dumps(found)) if found is not None else None
