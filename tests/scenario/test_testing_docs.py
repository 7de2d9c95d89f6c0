"""The decline example of docs/testing.md runs as written."""

from __future__ import annotations

import os
import re
import time
from typing import Any

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "testing.md")


def test_the_one_hour_decline_example_of_the_docs_passes_in_cluster_time() -> None:
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    (example,) = [b for b in blocks if "def test_decline_filter_lasts_an_hour" in b]
    namespace: dict[str, Any] = {}
    exec(compile(example, DOC, "exec"), namespace)
    start = time.monotonic()
    namespace["test_decline_filter_lasts_an_hour"]()
    # the hour is the manual clock's, not waited for (about 0.1 s on an idle machine; no speed is judged)
    assert time.monotonic() - start < 3600 / 2
