"""What the framework services (mesopy-marathon, mesopy-chronos) share to serve: their REST API's
HTTP server bound or one line and exit 1, and their election joined or one line and exit 1."""

from __future__ import annotations

import sys
from collections.abc import Callable

from frameworks.leadership import Leadership
from transport.errors import AddressInUse, TransportError
from transport.http import HttpServer

__all__ = ["bind_http_or_exit", "start_leadership_or_exit"]


def bind_http_or_exit(prog: str, address: str, port: int, name: str) -> HttpServer:
    """The (not yet started) HTTP server of --http_address:--http_port; a port in use (or any bind
    error) is one line on stderr and exit 1."""
    try:
        return HttpServer.bind(address, port, name=name)
    except AddressInUse as e:
        print(f"{prog}: --http_port: {e}; pick another with --http_port", file=sys.stderr, flush=True)
    except TransportError as e:
        print(f"{prog}: --http_address/--http_port: {e}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def start_leadership_or_exit(prog: str, leadership: Leadership, cleanup: Callable[[], object]) -> None:
    """Join the election (at once elected without --zk); ZooKeeper out of reach is one line on
    stderr, ``cleanup()`` (stop what was started) and exit 1."""
    try:
        leadership.start()
    except RuntimeError as e:
        print(f"{prog}: --zk: {e}", file=sys.stderr, flush=True)
        cleanup()
        raise SystemExit(1) from None
