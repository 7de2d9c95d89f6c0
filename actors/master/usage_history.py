"""The cluster's resources over the last hour, for the web UI's charts: a pure,
bounded ring of samples taken from the master's metrics (``/master/usage``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

__all__ = ["SAMPLE_SECONDS", "SPAN_SECONDS", "UsageHistory"]

SAMPLE_SECONDS = 10.0
SPAN_SECONDS = 3600.0
RESOURCES = ("cpus", "mem")


class UsageHistory:
    """At most ``span / interval + 1`` samples (``time`` in epoch seconds, then per resource
    ``total``, ``used`` by tasks and executors, ``offered``); older ones fall off."""

    def __init__(self, interval: float = SAMPLE_SECONDS, span: float = SPAN_SECONDS) -> None:
        if interval <= 0 or span < interval:
            raise ValueError(f"need 0 < interval <= span, got interval={interval} span={span}")
        self.interval = interval
        self.span = span
        self._samples: deque[dict[str, float]] = deque(maxlen=int(span / interval) + 1)

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, time: float, metrics: Mapping[str, float]) -> None:
        """One sample from a /metrics/snapshot dict taken at ``time``."""
        sample = {"time": time}
        for name in RESOURCES:
            used = metrics.get(f"master/{name}_used", 0.0)
            sample[f"{name}_total"] = metrics.get(f"master/{name}_total", 0.0)
            sample[f"{name}_used"] = used
            allocated = metrics.get(f"allocator/mesos/resources/{name}/offered_or_allocated", used)
            sample[f"{name}_offered"] = max(0.0, allocated - used)
        self._samples.append(sample)

    def to_json(self) -> dict[str, Any]:
        return {"interval": self.interval, "span": self.span, "samples": list(self._samples)}
