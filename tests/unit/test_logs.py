"""actors.logs: the library default (stderr, warning, MESOPY_LOG_* honoured) and
that it never overrides an application's own structlog configuration."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog

from actors.logs import configure_library_default


@pytest.fixture
def unconfigured() -> Iterator[None]:
    """structlog as a fresh program finds it; the suite's configuration is put back afterwards."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    try:
        yield
    finally:
        structlog.configure(**saved)


def test_default_is_warning_on_stderr_and_follows_a_swapped_stderr(unconfigured: None, capsys: Any) -> None:
    assert configure_library_default(environ={}) is True
    structlog.get_logger("t").info("quiet_event")
    structlog.get_logger("t").warning("loud_event", n=1)
    out, err = capsys.readouterr()
    assert out == ""
    assert "loud_event" in err and "n=1" in err and "quiet_event" not in err


def test_environment_names_level_and_format(unconfigured: None, capsys: Any) -> None:
    configure_library_default(environ={"MESOPY_LOG_LEVEL": "debug", "MESOPY_LOG_FORMAT": "json"})
    structlog.get_logger("t").debug("detail", k="v")
    (line,) = capsys.readouterr().err.splitlines()
    event = json.loads(line)
    assert (event["event"], event["k"], event["level"]) == ("detail", "v", "debug")


def test_an_application_s_own_configuration_is_kept(unconfigured: None, capsys: Any) -> None:
    seen: list[str] = []

    def keep(logger: Any, method: str, event: MutableMapping[str, Any]) -> str:
        seen.append(event["event"])
        raise structlog.DropEvent

    structlog.configure(processors=[keep])
    assert configure_library_default(environ={"MESOPY_LOG_LEVEL": "error"}) is False
    structlog.get_logger("t").info("mine")
    assert seen == ["mine"] and capsys.readouterr() == ("", "")
