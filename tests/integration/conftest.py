"""Fixtures shared by the integration tests that start the bin scripts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.containment_support import remove_cgroups
from tests.integration.operators_support import Script, kill_executors_under


@pytest.fixture
def scripts(tmp_path: Any) -> Iterator[list[Script]]:
    """Scripts a test starts go in this list; each is killed at the end, with any executor left under tmp_path."""
    started: list[Script] = []
    yield started
    for script in started:
        script.kill()
    kill_executors_under(str(tmp_path))


@pytest.fixture
def cgroups_root(scripts: list[Script]) -> Iterator[str]:
    """A ``--cgroups_root`` of the test's own: at the end its agents are killed and the cgroups they
    made (a container's freezer left frozen by a kill -9 mid freeze-kill-thaw too) thawed and removed."""
    root = f"mesopy-test-{uuid.uuid4().hex[:12]}"
    yield root
    for script in scripts:
        script.kill()
    remove_cgroups(root)
