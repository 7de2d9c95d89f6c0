"""A busy loop outside any quota, run beside one under a CFS quota.

A quota is a ceiling: on a machine busy with other work a loop under a 0.5 cpu
quota gets less than half a core, through no fault of the quota. The control
loop tells how much of a core any loop could get during the measurement, so a
test asserts the floor only when the control got (nearly) a whole core.
"""

from __future__ import annotations

import subprocess
import sys
import time

__all__ = ["ControlLoop"]

_LOOP = (
    "import time\nt = time.monotonic()\nwhile time.monotonic() - t < {seconds}:\n    pass\n"
    "print(time.process_time())\n"
)
UNCONTENDED = 0.9  # the control's share of a core above which the machine was not contended


class ControlLoop:
    """``with ControlLoop(2.0) as control: ...``; then ``control.share`` and ``control.uncontended``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.share = 0.0

    def __enter__(self) -> ControlLoop:
        self._started = time.monotonic()
        self._proc = subprocess.Popen([sys.executable, "-c", _LOOP.format(seconds=self.seconds)],
                                      stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        out, _ = self._proc.communicate(timeout=self.seconds + 30)
        self.share = float(out) / (time.monotonic() - self._started)

    @property
    def uncontended(self) -> bool:
        return self.share >= UNCONTENDED
