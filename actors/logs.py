"""structlog set-up, in one place.

Entry points (the bin scripts, the command executor) call ``configure_logging``
with their ``--log_format``/``--log_level`` (default ``info``). A program that
embeds mesopy (a framework, a test using ``LocalCluster``) gets the library
default instead, applied when ``actors`` is first imported and only if
structlog is not configured yet: console lines on stderr at ``warning``, or
the level and format named by ``MESOPY_LOG_LEVEL`` / ``MESOPY_LOG_FORMAT``.
An application that configures structlog itself (before or after) wins.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

import structlog

__all__ = [
    "LIBRARY_LEVEL",
    "LOG_FORMAT_ENV",
    "LOG_LEVEL_ENV",
    "configure_library_default",
    "configure_logging",
]

LIBRARY_LEVEL = "warning"
LOG_LEVEL_ENV = "MESOPY_LOG_LEVEL"
LOG_FORMAT_ENV = "MESOPY_LOG_FORMAT"
_FORMATS = ("console", "json")


def _numeric_level(level: str) -> int:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    return numeric


def _stderr_logger(*args: Any) -> structlog.PrintLogger:
    """A logger on the current ``sys.stderr`` (looked up when the logger is made, so a
    test harness that swaps stderr, such as pytest's capsys, gets the events)."""
    return structlog.PrintLogger(sys.stderr)


def configure_logging(log_format: str = "console", level: str = "info") -> None:
    """Render events as console lines for a person or JSON lines, on stderr.

    ``log_format`` is ``console`` or ``json``; ``level`` a logging level name.
    """
    if log_format not in _FORMATS:
        raise ValueError(f"log format must be 'console' or 'json', got {log_format!r}")
    numeric = _numeric_level(level)
    renderer: structlog.typing.Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def configure_library_default(environ: Mapping[str, str] | None = None) -> bool:
    """Unless structlog is configured already: stderr at ``MESOPY_LOG_LEVEL``
    (default warning) in ``MESOPY_LOG_FORMAT`` (default console). Returns
    whether it configured. A bad value falls back to the default and says so
    in a warning event naming it (an import must not fail over a variable)."""
    if structlog.is_configured():
        return False
    env = os.environ if environ is None else environ
    level = env.get(LOG_LEVEL_ENV, "") or LIBRARY_LEVEL
    log_format = env.get(LOG_FORMAT_ENV, "") or "console"
    bad: list[str] = []
    if log_format not in _FORMATS:
        bad.append(f"{LOG_FORMAT_ENV}={log_format!r} (console or json)")
        log_format = "console"
    try:
        _numeric_level(level)
    except ValueError:
        bad.append(f"{LOG_LEVEL_ENV}={level!r} (debug, info, warning or error)")
        level = LIBRARY_LEVEL
    configure_logging(log_format, level)
    if bad:
        structlog.get_logger("mesopy.logs").warning("log_settings_ignored", ignored=bad, level=level,
                                                     format=log_format)
    return True
