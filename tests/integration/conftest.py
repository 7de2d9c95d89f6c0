"""Fixtures shared by the integration tests that start the bin scripts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.operators_support import Script, kill_executors_under


@pytest.fixture
def scripts(tmp_path: Any) -> Iterator[list[Script]]:
    """Scripts a test starts go in this list; each is killed at the end, with any executor left under tmp_path."""
    started: list[Script] = []
    yield started
    for script in started:
        script.kill()
    kill_executors_under(str(tmp_path))
