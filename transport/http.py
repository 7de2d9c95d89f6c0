"""The HTTP server of masters and agents: aiohttp on an asyncio loop in its own thread.

This is the one module importing the HTTP library (aiohttp) and
prometheus_client. Why aiohttp: one event loop serves thousands of idle or
slow connections without a thread each (a slow client holds a coroutine, never
a worker), it streams responses (the next issue's RecordIO event streams), and
it bounds request line, header and body sizes itself. Routes are coroutines
``handler(HttpRequest) -> HttpReply``; they never touch actor state directly
but await futures the actors settle (see actors/http_common.py).

``HttpServer.bind(host, port)`` binds at once (so the address can be
advertised before the routes exist); ``start()`` serves; ``stop()`` ends it.
With ``tls=(cert file, key file)`` it serves HTTPS only (no downgrade: a plain
HTTP request on that port gets no answer but a closed connection).
Routes can be added before or after ``start()``, each with the methods it
answers (GET by default; others get 405 naming the allowed ones). A reply
with a ``stream`` (transport/event_stream.py) is sent as an endless chunked
``200`` response fed by the stream: Mesos' v1 event streams. ``forward``
proxies a request to another server (a framework's leader) from a route.
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import ClientError, ClientSession, ClientTimeout, web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from transport.errors import AddressInUse, TransportError
from transport.event_stream import EventStream
from transport.proxy_rules import FORWARDED_HEADER, is_stream, join_url, request_headers, response_headers
from transport.tls import server_context

__all__ = [
    "MAX_REQUEST_BYTES", "Guard", "HttpError", "HttpReply", "HttpRequest", "HttpServer", "Handler",
    "forward", "json_reply", "prometheus_text",
]

MAX_REQUEST_BYTES = 1 << 20  # bodies larger are refused with 413
MAX_LINE_BYTES = 8190  # a longer request line or header is refused with 400
KEEPALIVE_SECONDS = 15.0  # an idle keep-alive connection is closed after this

log = structlog.get_logger(__name__)


class HttpError(Exception):
    """Raised by a route: answered with ``status`` and ``message`` as plain text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # case-insensitive keys
    body: bytes = b""
    peer: str = ""  # the client's host:port
    principal: str | None = None  # who the server's guard authenticated (None: anonymous)
    query_string: str = ""  # the raw query, as the client sent it (``query`` keeps one value per name)


@dataclass
class HttpReply:
    """``body`` (bytes), or ``file`` (a path sent as an attachment, read off the loop), or
    ``stream`` (an endless chunked response; ``status``, ``content_type`` and ``headers`` then
    are the stream's)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    file: str | None = None
    stream: EventStream | None = None


Handler = Callable[[HttpRequest], Awaitable[HttpReply]]
#: Runs before every route: the request to serve (with its ``principal``), or the reply refusing it.
Guard = Callable[[HttpRequest], "HttpRequest | HttpReply"]


def json_reply(value: Any, status: int = 200) -> HttpReply:
    return HttpReply(status=status, body=json.dumps(value, separators=(",", ":")).encode())


FORWARD_CONNECT_SECONDS = 5.0  # to reach the leader
FORWARD_REPLY_SECONDS = 60.0  # for its reply's headers, and for a whole (not streamed) body


async def forward(request: HttpRequest, base_url: str, tls: ssl.SSLContext | None = None) -> HttpReply:
    """Proxy ``request`` to the server at ``base_url`` (an https one checked with ``tls``) unchanged (method,
    path, query, body, headers less hop-by-hop ones) and answer with its reply (status, headers, body); an SSE or RecordIO
    stream is relayed as it comes, until either side ends it. Raises HttpError 502 naming
    ``base_url`` when it cannot be reached or does not answer, or when ``request`` was already
    forwarded once (a loop between instances that each think the other leads)."""
    url = join_url(base_url, request.path, request.query_string)
    if FORWARDED_HEADER in request.headers:
        raise HttpError(502, f"not forwarding {request.method} {request.path} to {base_url} again: it was "
                             f"forwarded here by {request.headers[FORWARDED_HEADER]} "
                             "(the instances disagree on the leader)")
    session = ClientSession(timeout=ClientTimeout(total=None, sock_connect=FORWARD_CONNECT_SECONDS),
                            auto_decompress=False)
    try:
        upstream = await asyncio.wait_for(session.request(
            request.method, url, headers=request_headers(request.headers.items(), base_url),
            data=request.body or None, allow_redirects=False, ssl=tls if tls is not None else True), FORWARD_REPLY_SECONDS)
        headers = response_headers(upstream.headers.items())
        ctype = upstream.headers.get("Content-Type", "application/octet-stream")
        if not is_stream(upstream.status, upstream.headers):
            body = await asyncio.wait_for(upstream.read(), FORWARD_REPLY_SECONDS)
            upstream.release()
            await session.close()
            return HttpReply(status=upstream.status, body=body, content_type=ctype, headers=headers)
    except (ClientError, asyncio.TimeoutError, OSError) as e:
        await session.close()
        raise HttpError(502, f"cannot forward {request.method} {request.path} to {base_url}: "
                             f"{type(e).__name__} {e}".rstrip()) from None
    except BaseException:
        await session.close()
        raise
    relay: list[asyncio.Future[None]] = []

    def ended(reason: str) -> None:  # the client went (or read too slowly): stop reading the leader
        for task in relay:
            task.cancel()

    stream = EventStream(content_type=ctype.split(";")[0], headers=headers, on_end=ended)

    async def pump() -> None:
        try:
            async for chunk in upstream.content.iter_any():
                stream.push(chunk)
        except (ClientError, OSError) as e:
            log.info("forward_stream_upstream_ended", url=url, error=repr(e))
        finally:
            stream.close()
            upstream.release()
            await session.close()

    relay.append(asyncio.ensure_future(pump()))
    return HttpReply(stream=stream)


def prometheus_text(metrics: Mapping[str, float]) -> tuple[bytes, str]:
    """Mesos-style metrics (``master/tasks_running``) in Prometheus' text format
    (``master_tasks_running``), with its content type."""

    class _Snapshot:
        def collect(self) -> Any:
            for name, value in sorted(metrics.items()):
                safe = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
                yield GaugeMetricFamily(safe, f"Mesos metric {name}", value=float(value))

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot())
    return generate_latest(registry), "text/plain; version=0.0.4; charset=utf-8"


class HttpServer:
    """One HTTP listener; ``route(path, handler)`` before ``start()``."""

    def __init__(self, sock: socket.socket, name: str = "http", ssl_context: ssl.SSLContext | None = None) -> None:
        self._sock = sock
        self._ssl = ssl_context
        self.name = name
        self.host, self.port = sock.getsockname()[:2]
        self._routes: dict[str, tuple[Handler, tuple[str, ...]]] = {}
        self.guard: Guard | None = None  # authentication and endpoint authorization (set before serving)
        self._prefixes: list[str] = []  # routes that also answer every path below them
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._jobs: list[tuple[float, Callable[[], Awaitable[None]]]] = []
        self._tasks: list[asyncio.Future[None]] = []
        self._lock = threading.Lock()
        self._serving = False
        self._closing = False  # set on the loop by _cleanup: periodic jobs end
        self._streams: set[EventStream] = set()  # being sent (touched on the loop only)

    @classmethod
    def bind(cls, host: str, port: int, name: str = "http", *, tls: tuple[str, str] | None = None) -> HttpServer:
        """Bind ``host:port`` now (0: a free port); AddressInUse naming the port if taken. ``tls``:
        (certificate chain file, private key file), PEM; TransportError naming them if unusable."""
        context = server_context(*tls) if tls is not None else None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(1024)
        except OSError as e:
            sock.close()
            if e.errno == errno.EADDRINUSE:
                raise AddressInUse(f"HTTP port {port} on {host} is already in use") from None
            raise TransportError(f"cannot bind HTTP on {host}:{port}: {e.strerror}") from None
        sock.setblocking(False)
        return cls(sock, name, context)

    @property
    def scheme(self) -> str:
        return "https" if self._ssl is not None else "http"

    def url(self, advertise_host: str | None = None) -> str:
        return f"{self.scheme}://{advertise_host or self.host}:{self.port}"

    def route(self, path: str, handler: Handler, methods: tuple[str, ...] = ("GET",), *,
              prefix: bool = False) -> None:
        """Answer ``methods`` (GET also answers HEAD; OPTIONS always) of exactly ``path``, or
        with ``prefix`` of every path below it too (``/quota/eng``), with ``handler``; before or
        after ``start()`` (a path not routed yet answers 404)."""
        allowed = (*methods, "HEAD") if "GET" in methods and "HEAD" not in methods else tuple(methods)
        self._routes[path] = (handler, allowed)
        if prefix and path not in self._prefixes:
            self._prefixes.append(path)

    def every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        """Run ``job`` on the server's loop now (or once it serves) and every ``seconds`` until
        it stops; a failing run is logged and the next one still runs."""
        if seconds <= 0:
            raise ValueError(f"interval must be > 0 seconds, got {seconds}")
        with self._lock:  # either _serve launches it or, once serving, the loop does
            self._jobs.append((seconds, job))
            loop = self._loop if self._serving else None
        if loop is not None:
            loop.call_soon_threadsafe(self._launch, seconds, job)

    def _launch(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        self._tasks.append(asyncio.ensure_future(self._repeat(seconds, job)))

    async def _repeat(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        # The flag as well as the cancel: Python 3.11's wait_for swallows a cancel that lands
        # as the awaited future completes, so a job may return normally after its cancel.
        while not self._closing:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("http_job_failed", port=self.port, error=repr(e))
            if not self._closing:
                await asyncio.sleep(seconds)

    # --- life cycle -------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> HttpServer:
        """Serve on the bound socket from a new thread; returns once it accepts."""
        started = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(started, errors), name=self.name, daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise TransportError(f"HTTP server on port {self.port} did not start within {timeout} s")
        if errors:
            raise errors[0]
        return self

    def _run(self, started: threading.Event, errors: list[BaseException]) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve())
        except BaseException as e:
            errors.append(e)
            started.set()
            loop.close()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, keepalive_timeout=KEEPALIVE_SECONDS,
                                     handler_cancellation=True, max_line_size=MAX_LINE_BYTES,
                                     max_field_size=MAX_LINE_BYTES)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock, ssl_context=self._ssl).start()
        with self._lock:
            self._serving = True
            jobs = list(self._jobs)
        for seconds, job in jobs:
            self._launch(seconds, job)

    async def _cleanup(self) -> None:
        for stream in list(self._streams):  # endless responses end, so their handlers return
            stream.close()
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self, timeout: float = 5.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            self._sock.close()
            return
        if self._runner is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._cleanup(), loop).result(timeout)
            except Exception as e:  # the loop goes anyway
                log.warning("http_stop_failed", port=self.port, error=repr(e))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._sock.close()

    # --- requests ----------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "OPTIONS":  # CORS preflight: GETs from any origin (the UI reads agents)
            response: web.StreamResponse = web.Response(status=204)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as e:
                response = web.Response(status=e.status, text=f"{e.reason}\n")
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        return response

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        principal = None
        if self.guard is not None:  # before routing: unknown paths are no way round it
            checked = self.guard(HttpRequest(request.method, request.path, {}, request.headers))
            if isinstance(checked, HttpReply):
                return web.Response(status=checked.status, body=checked.body, headers=checked.headers,
                                    content_type=checked.content_type)
            principal = checked.principal
        routed = self._routes.get(request.path)
        if routed is None and self._prefixes:
            below = next((p for p in self._prefixes if request.path.startswith(p.rstrip("/") + "/")), None)
            routed = self._routes.get(below) if below is not None else None
        if routed is None:
            return web.Response(status=404, text=f"no endpoint {request.path}\n")
        handler, allowed = routed
        if request.method not in allowed:
            methods = ", ".join(allowed)
            return web.Response(status=405, text=f"{request.method} is not allowed on {request.path}; use {methods}\n",
                                headers={"Allow": methods})
        query = {k: request.query.getone(k) for k in request.query}
        body = await request.read() if request.method not in ("GET", "HEAD") else b""
        peer = request.transport.get_extra_info("peername") if request.transport is not None else None
        req = HttpRequest(request.method, request.path, query, request.headers, body,
                          f"{peer[0]}:{peer[1]}" if peer else "", principal, request.query_string)
        try:
            reply = await handler(req)
        except HttpError as e:
            if e.status >= 500 or e.status in (403,):
                log.warning("http_request_refused", path=request.path, status=e.status, error=e.message)
            return web.Response(status=e.status, text=e.message + "\n")
        except Exception:
            log.exception("http_handler_failed", path=request.path)
            return web.Response(status=500, text=f"internal error serving {request.path}\n")
        if reply.stream is not None:
            return await self._stream(request, reply.stream)
        if reply.file is not None:
            return web.FileResponse(reply.file, headers=reply.headers)
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers,
                            content_type=reply.content_type.split(";")[0],
                            charset="utf-8" if "charset" in reply.content_type else None)

    async def _stream(self, request: web.Request, stream: EventStream) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers=stream.headers)
        response.content_type = stream.content_type
        response.enable_chunked_encoding()
        transport = request.transport
        try:
            await response.prepare(request)
        except BaseException:
            stream.ended("client_gone")
            raise
        self._streams.add(stream)
        try:
            await stream.pump(response.write, transport.abort if transport is not None else lambda: None)
        finally:
            self._streams.discard(stream)
        return response
