"""What every operator script shares: flags or a one-line error, logging, a node
on a port (or a one-line error naming it), and a clean stop on SIGTERM/SIGINT.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from actors.flags import (
    FlagError,
    ParsedFlags,
    flag_error_exit,
    format_help,
    parse_flags,
)
from actors.logs import configure_logging
from actors.node import Node
from actors.version import version_line
from transport.endpoint import AddressInUse
from transport.errors import TransportError

if TYPE_CHECKING:
    from actors.listen import ListenFlags
    from transport.http import HttpServer

__all__ = [
    "STOP_SECONDS", "announce_http", "bind_http_or_exit", "parse_or_exit", "start_node_or_exit", "stop_within",
    "StopSignals",
]

C = TypeVar("C")
STOP_SECONDS = 5.0

log = structlog.get_logger("mesopy.cli")


def parse_or_exit(
    prog: str,
    config_cls: type[C],
    argv: Sequence[str],
    *,
    description: str = "",
    examples: Sequence[str] = (),
    check: Callable[[C], None] | None = None,
) -> ParsedFlags[C]:
    """Flags into a config, or exit: 0 after --help or --version, 2 with one line for a bad flag.

    ``check(config)`` may raise FlagError for checks the config's own
    validate() does not make. Logging is configured from --log_format/--log_level.
    """
    try:
        parsed = parse_flags(config_cls, argv)
        if parsed.common.help:
            sys.stdout.write(format_help(config_cls, prog, description, examples))
            raise SystemExit(0)
        if parsed.common.version:
            print(version_line(prog), flush=True)
            raise SystemExit(0)
        if check is not None:
            check(parsed.config)
    except FlagError as e:
        flag_error_exit(prog, e)
    configure_logging(parsed.common.log_format, parsed.common.log_level)
    return parsed


def start_node_or_exit(prog: str, ip: str, port: int, **node_options: Any) -> Node:
    """A started node on ip:port; a port in use (or any bind error) is one line and exit 1."""
    try:
        node = Node(ip, port, **node_options).start()
        if node.public_key:
            print(f"{prog}: ZeroMQ links encrypted (CURVE), public key {node.public_key.decode()}", file=sys.stderr,
                  flush=True)
            log.info("curve_enabled", public_key=node.public_key.decode())
        return node
    except AddressInUse as e:
        print(f"{prog}: --port: {e}; pick another with --port", file=sys.stderr, flush=True)
    except TransportError as e:
        print(f"{prog}: --ip/--port: {e}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def bind_http_or_exit(prog: str, config: ListenFlags, node: Node) -> HttpServer | None:
    """The serving HTTP server of --ip:--http_port (no routes yet: the actor adds them as it
    is spawned), None with --no-http; a port in use (or any bind error) is one line,
    ``node`` stopped, and exit 1."""
    if not config.http:
        return None
    from transport.http import HttpServer

    try:
        return HttpServer.bind(config.ip, config.http_listen_port(), tls=config.tls_files(os.environ)).start()
    except AddressInUse as e:
        print(f"{prog}: --http_port: {e}; pick another with --http_port (or --no-http)", file=sys.stderr, flush=True)
    except TransportError as e:
        print(f"{prog}: --ip/--http_port: {e}", file=sys.stderr, flush=True)
    stop_within("node", node.stop)
    raise SystemExit(1)


def announce_http(prog: str, server: HttpServer, host: str) -> str:
    """Print ``server``'s URL on stdout (one line, flushed): the script is ready."""
    url = server.url(host) + "/"
    print(f"{prog}: HTTP endpoints at {url}", flush=True)
    log.info("http_ready", url=url)
    return url


class StopSignals:
    """SIGTERM and SIGINT caught from construction on, so a signal that arrives while a
    script is still starting stops it cleanly instead of killing it; ``wait()`` blocks
    until one arrives (or ``stop`` is set) and returns the signal's name ("stop" if none)."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.event = stop or threading.Event()
        self.received: list[str] = []
        signal.signal(signal.SIGTERM, self._handler)
        signal.signal(signal.SIGINT, self._handler)

    def _handler(self, signum: int, frame: object) -> None:
        self.received.append(signal.Signals(signum).name)
        self.event.set()

    def wait(self) -> str:
        while not self.event.wait(0.5):  # wake up now and then so signals are handled promptly
            pass
        return self.received[0] if self.received else "stop"


def stop_within(what: str, fn: Callable[[], None], seconds: float = STOP_SECONDS) -> bool:
    """Run ``fn`` (a stop) for at most ``seconds``; if it hangs, log it and leave at once (exit 1)."""
    done = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as e:  # reported below; the process is ending anyway
            errors.append(e)
        finally:
            done.set()

    threading.Thread(target=run, name=f"stop-{what}", daemon=True).start()
    if not done.wait(seconds):
        log.error("stop_timed_out", what=what, seconds=seconds)
        sys.stderr.flush()
        os._exit(1)
    if errors:
        log.error("stop_failed", what=what, error=repr(errors[0]))
        return False
    return True
