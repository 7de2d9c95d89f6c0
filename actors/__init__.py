"""actors package: the runtime and one package per role.

Importing it applies mesopy's default logging (stderr, warning level) unless
structlog is configured already; see ``actors.logs``.
"""

from actors.logs import configure_library_default as _configure_library_default

__all__: list[str] = []

_configure_library_default()
