"""What the master's and the agent's HTTP routes share: running a read on an
actor's own thread and awaiting it from the HTTP loop, query parameters, and
for the v1 APIs the media type rules, call decoding and opening event streams.

An endpoint never reads an actor's fields from the HTTP thread: ``on_actor``
hands a function to the actor (``Process.run``, through its mailbox, in order
with its messages), the function runs there and its result comes back as a
future the HTTP loop awaits with a timeout (503 if the actor is busy or gone).
The functions return JSON-ready values built fresh on the actor's thread.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from actors.process import Process
from actors.security.http_auth import HttpGuard
from actors.v1_api import CallError, parse_json_call
from transport.event_stream import EventStream
from transport.http import Handler, HttpError, HttpReply, HttpRequest, HttpServer, prometheus_text

__all__ = [
    "ACTOR_TIMEOUT", "Coalesced", "check_media_types", "decode_call", "encoded", "install_guard", "int_param",
    "json_view", "on_actor", "open_stream", "route_health_and_metrics",
]

T = TypeVar("T")
ACTOR_TIMEOUT = 10.0  # seconds an endpoint waits for its actor before answering 503
JSON = "application/json"
PROTOBUF = "application/x-protobuf"


async def on_actor(process: Process, fn: Callable[[], T], timeout: float = ACTOR_TIMEOUT) -> T:
    """``fn()`` run on ``process``'s thread; HttpError 503 if it is stopped or takes over ``timeout``."""
    future: Future[T] = Future()

    def call() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn())
        except BaseException as e:  # handed to the awaiting request
            future.set_exception(e)

    if not process.actor_ref.is_alive():
        raise HttpError(503, f"{process.pid} is not running")
    process.run(call)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
    except asyncio.TimeoutError:
        raise HttpError(503, f"{process.pid} did not answer within {timeout} s") from None


async def open_stream(process: Process, stream: EventStream, register: Callable[[], HttpReply | None]) -> HttpReply:
    """The reply sending ``stream`` once ``register()`` (on ``process``'s thread) took it; or the reply
    ``register`` answers instead (a standby's 307). A stream not sent is ended at once."""
    try:
        refused = await on_actor(process, register)
    except BaseException:
        stream.ended("not_started")
        raise
    if refused is not None:
        stream.ended("refused")
        return refused
    return HttpReply(stream=stream)


def check_media_types(request: HttpRequest) -> None:
    """Mesos' rules for the v1 APIs' Content-Type (400/415) and Accept (406): JSON only."""
    content_type = request.headers.get("Content-Type", "")
    if not content_type:
        raise HttpError(400, "Expecting 'Content-Type' to be present")
    kind = content_type.split(";")[0].strip().lower()
    if kind == PROTOBUF:
        raise HttpError(415, f"Content-Type {PROTOBUF} is not supported by this master: use {JSON}")
    if kind != JSON:
        raise HttpError(415, f"Expecting 'Content-Type' of {JSON} or {PROTOBUF}, got {content_type!r}")
    accept = request.headers.get("Accept", "")
    if accept:
        kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
        if not kinds & {JSON, "application/*", "*/*"}:
            raise HttpError(406, f"Expecting 'Accept' to allow {JSON}, got {accept!r}")


def decode_call(request: HttpRequest) -> tuple[dict[str, Any], str]:
    """A v1 API call's (object, type) after the media type checks; HttpError 400/406/415."""
    check_media_types(request)
    try:
        return parse_json_call(request.body)
    except CallError as e:
        raise HttpError(e.status, e.message) from None


class Coalesced(Generic[T]):
    """``fn`` run on ``process``'s thread for many concurrent requests at the cost of few runs:
    while one run is in flight, every request that arrives shares the one run that starts
    after it (so an answer is never older than its request). However many clients poll a
    view, the actor computes it at most back to back, never once per client."""

    def __init__(self, process: Process, fn: Callable[[], T]) -> None:
        self._process = process
        self._fn = fn
        self._current: asyncio.Future[T] | None = None
        self._next: asyncio.Future[T] | None = None

    async def __call__(self) -> T:
        if self._next is not None:
            return await asyncio.shield(self._next)
        if self._current is not None and not self._current.done():
            self._next = asyncio.ensure_future(self._after(self._current))
            return await asyncio.shield(self._next)
        self._current = asyncio.ensure_future(on_actor(self._process, self._fn))
        return await asyncio.shield(self._current)

    async def _after(self, running: asyncio.Future[T]) -> T:
        await asyncio.wait([running])
        self._current, self._next = self._next, None  # this run is now the current one
        return await on_actor(self._process, self._fn)


def int_param(query: Mapping[str, str], name: str, default: int, *, minimum: int = 0,
              maximum: int | None = None) -> int:
    """Query parameter ``name`` as an integer; HttpError 400 naming it if it is not one or out of range."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HttpError(400, f"parameter {name!r}: {raw!r} is not an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise HttpError(400, f"parameter {name!r} must be {bound}, got {value}")
    return value


def encoded(value: Any) -> bytes:
    """Compact JSON bytes (built on the actor's thread, so the HTTP thread only moves bytes)."""
    return json.dumps(value, separators=(",", ":")).encode()


def install_guard(server: HttpServer, guard: HttpGuard) -> HttpGuard:
    """Every request to ``server`` passes ``guard`` first (401/403 answered there, else served
    with its ``principal``); returns ``guard`` (its counters)."""

    def check(request: HttpRequest) -> HttpRequest | HttpReply:
        decision = guard.check(request.method, request.path, request.headers)
        if decision.status:
            return HttpReply(status=decision.status, body=(decision.message + "\n").encode(),
                             content_type="text/plain", headers=decision.headers)
        return HttpRequest(request.method, request.path, request.query, request.headers, request.body,
                           principal=decision.principal)

    server.guard = check
    return guard


def json_view(process: Process, build: Callable[[], Any]) -> Handler:
    """A GET handler answering ``build()`` (run on ``process``'s thread, coalesced) as JSON."""
    shared = Coalesced(process, lambda: encoded(build()))

    async def handler(request: HttpRequest) -> HttpReply:
        return HttpReply(body=await shared())
    return handler


def route_health_and_metrics(server: HttpServer, process: Process, snapshot: Callable[[], dict[str, float]],
                             health_paths: tuple[str, ...]) -> None:
    """``/metrics/snapshot`` (JSON) and ``/metrics`` (Prometheus text) of ``snapshot()``, and the
    health paths (200 once ``process``'s thread answers)."""
    shared = Coalesced(process, snapshot)

    async def prometheus(request: HttpRequest) -> HttpReply:
        body, content_type = prometheus_text(await shared())
        return HttpReply(body=body, content_type=content_type)

    async def health(request: HttpRequest) -> HttpReply:
        await on_actor(process, lambda: None)
        return HttpReply(content_type="text/plain")

    server.route("/metrics/snapshot", json_view(process, snapshot))
    server.route("/metrics", prometheus)
    for path in health_paths:
        server.route(path, health)
