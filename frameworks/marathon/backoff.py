"""Marathon's launch backoff (pure): after a task of an app fails, its next launch waits
``backoffSeconds``, then that times ``backoffFactor`` after each further failure, capped at
``maxLaunchDelaySeconds``. A new app version starts without delay (as does a reset through
``DELETE /v2/queue/{appId}/delay``). Times are ``now`` values passed in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Delay", "LaunchDelays"]


@dataclass(frozen=True)
class Delay:
    version: str
    seconds: float  # the current delay
    until: float  # no launch before this time


class LaunchDelays:
    """The launch delay of each app, by app id (one entry per app: bounded by the apps)."""

    def __init__(self) -> None:
        self._delays: dict[str, Delay] = {}

    def failed(self, app: Mapping[str, Any], now: float) -> Delay:
        """A task of ``app`` failed at ``now``: the delay grows (or starts at backoffSeconds)."""
        current = self._delays.get(app["id"])
        if current is None or current.version != app.get("version"):
            seconds = float(app["backoffSeconds"])
        else:
            seconds = current.seconds * float(app["backoffFactor"])
        seconds = min(seconds, float(app["maxLaunchDelaySeconds"]))
        delay = self._delays[app["id"]] = Delay(str(app.get("version")), seconds, now + seconds)
        return delay

    def ready_at(self, app: Mapping[str, Any]) -> float:
        """When ``app`` may launch again (0.0: now); a delay of another version does not hold it."""
        current = self._delays.get(app["id"])
        return current.until if current is not None and current.version == app.get("version") else 0.0

    def time_left(self, app: Mapping[str, Any], now: float) -> float:
        return max(0.0, self.ready_at(app) - now)

    def reset(self, app_id: str) -> None:
        self._delays.pop(app_id, None)
