"""``POST /api/v1/scheduler``: Mesos' v1 scheduler HTTP API on the master's HTTP port.

A ``SUBSCRIBE`` is answered with an endless chunked stream of RecordIO-framed
JSON events (transport/event_stream.py, one coroutine each, no thread) and a
``Mesos-Stream-Id`` header; every other call with ``202 Accepted`` once the
master has taken it (``UPDATE_FRAMEWORK``: ``200``, or ``400`` with why). The subscriber is a framework like any other: its calls
become a driver's messages (actors/master/scheduler_api.py) handled by the
same core, and what the core sends it is turned into events on its stream.
Its pid is served in this process (``MasterProcess.local_peers``); its
stream's end is its disconnection (failover timeout, as for a driver).

Mesos' HTTP error rules: 405 for anything but POST (the server), 415 for a
Content-Type other than JSON (protobuf is refused), 406 for an Accept that
allows no JSON, 400 for an undecodable call or a missing/stale
``Mesos-Stream-Id``, 403 for a call of an unknown framework or one not
subscribed over HTTP, 307 to the leader (503 while none is known) from a
standby master. Semantic errors are 202 plus an asynchronous event.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import structlog

from actors.http_common import check_media_types, encoded, on_actor, open_stream
from actors.master.scheduler_api import call_message, event_of, parse_call, subscribe_message
from actors.v1_api import HEARTBEAT, CallError, http_pid
from transport import messages as m
from transport.event_stream import EventStream
from transport.http import HttpError, HttpReply, HttpRequest, HttpServer
from transport.recordio import encode
from transport.schema import Message

if TYPE_CHECKING:
    from actors.master.process import MasterProcess

__all__ = ["HttpSchedulers", "install_scheduler_route", "standby_reply"]

log = structlog.get_logger(__name__)


def standby_reply(master: MasterProcess) -> HttpReply | None:
    """On the master's thread: None if it leads; else 307 to the leader's HTTP address (or 503)."""
    leadership = master.leadership
    if leadership is None or leadership.leading:
        return None
    address = leadership.leader_address()
    if address is None:
        return HttpReply(status=503, body=b"Not the leading master; no leader is elected yet\n",
                         content_type="text/plain")
    return HttpReply(status=307, headers={"Location": f"//{address}"}, content_type="text/plain",
                     body=f"Not the leading master; the leader is at {address}\n".encode())


class HttpSchedulers:
    """The master's HTTP-subscribed schedulers. Every method runs on the master's thread."""

    def __init__(self, master: MasterProcess) -> None:
        self.master = master
        self.heartbeat_interval = float(master.config.http_heartbeat_interval)
        self.streams: dict[str, tuple[str, EventStream]] = {}  # pid text -> (stream id, stream)
        self._held: dict[str, list[Message]] = {}  # pid -> the master's answers to its UPDATE_FRAMEWORK
        master.core.observers.append(self.observe)

    def observe(self, kind: str, record: Any) -> None:
        """A framework removed (TEARDOWN, by its scheduler or an operator): its stream ends."""
        if kind == "framework_removed" and record.pid in self.streams:
            self.close(record.pid)

    def subscribe(self, pid: str, stream_id: str, stream: EventStream, msg: Message) -> HttpReply | None:
        """Serve ``pid`` with ``stream`` and register it with ``msg``; a standby's reply instead."""
        refused = standby_reply(self.master)
        if refused is not None:
            return refused
        self.streams[pid] = (stream_id, stream)
        self.master.local_peers[pid] = lambda message: self._deliver(pid, message)
        log.info("http_scheduler_subscribing", pid=pid, type=type(msg).__name__)
        self.master.handle_local(pid, msg)
        return None

    def _deliver(self, pid: str, msg: Message) -> None:
        held = self._held.get(pid)
        if held is not None and isinstance(msg, (m.FrameworkReregistered, m.FrameworkError)):
            held.append(msg)
            return
        entry = self.streams.get(pid)
        event = event_of(msg, self.heartbeat_interval)
        if entry is None or event is None:
            return
        stream = entry[1]
        stream.push(encode(encoded(event)))
        if isinstance(msg, m.FrameworkError):  # fatal for the framework: Mesos closes the stream after it
            self.close(pid)

    def call(self, framework_id: str, stream_id: str, kind: str, msg: Message) -> HttpReply:
        """A non-SUBSCRIBE call of ``framework_id`` on ``stream_id``: 202 once handled, else why not."""
        refused = standby_reply(self.master)
        if refused is not None:
            return refused
        fw = self.master.core.frameworks.get(framework_id)
        if fw is None:
            raise HttpError(403, f"Framework {framework_id!r} is not subscribed")
        entry = self.streams.get(fw.pid)
        if entry is None or not fw.connected:
            raise HttpError(403, f"Framework {framework_id!r} is not subscribed over HTTP")
        if not stream_id:
            raise HttpError(400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header")
        if stream_id != entry[0]:
            raise HttpError(400, f"The stream ID {stream_id!r} included in this request didn't match the stream ID "
                                 f"currently associated with framework ID {framework_id}")
        if kind == "UPDATE_FRAMEWORK":
            return self._update_framework(fw.pid, msg)
        self.master.handle_local(fw.pid, msg)
        return HttpReply(status=202, content_type="text/plain")

    def _update_framework(self, pid: str, msg: Message) -> HttpReply:
        """A re-registration from the same stream: its answer is this call's (200, or 400 with the
        master's reason), not an event (Mesos sends no SUBSCRIBED for it)."""
        answers: list[Message] = []
        self._held[pid] = answers
        try:
            self.master.handle_local(pid, msg)
        finally:
            del self._held[pid]
        error = next((a for a in answers if isinstance(a, m.FrameworkError)), None)
        if error is not None:
            raise HttpError(400, f"Invalid framework_info: {error.message}")
        return HttpReply(status=200, content_type="text/plain")

    def close(self, pid: str) -> None:
        """End ``pid``'s stream (after what was pushed) and stop serving it."""
        entry = self.streams.pop(pid, None)
        self.master.local_peers.pop(pid, None)
        if entry is not None:
            entry[1].close()

    def ended(self, pid: str, reason: str) -> None:
        """``pid``'s stream ended (the client went, or we closed it): its framework disconnects."""
        served = self.streams.pop(pid, None) is not None
        log.info("http_scheduler_stream_ended", pid=pid, reason=reason, served=served)
        self.master.local_peer_gone(pid)


def install_scheduler_route(server: HttpServer, master: MasterProcess) -> HttpSchedulers:
    """Route ``/api/v1/scheduler`` (POST) to ``master``."""
    table = HttpSchedulers(master)
    heartbeat = encode(encoded(HEARTBEAT))

    async def scheduler(request: HttpRequest) -> HttpReply:
        check_media_types(request)
        try:
            call = parse_call(request.body)
            if call["type"] != "SUBSCRIBE":
                fid, msg = call_message(call)
                stream_id = request.headers.get("Mesos-Stream-Id", "")
                return await on_actor(master, lambda: table.call(fid, stream_id, call["type"], msg))
            subscribe = subscribe_message(call)
        except CallError as e:
            raise HttpError(e.status, e.message) from None
        stream_id = str(uuid.uuid4())
        pid = http_pid("scheduler", stream_id, request.peer)
        stream = EventStream(heartbeat_every=table.heartbeat_interval, heartbeat=heartbeat,
                             headers={"Mesos-Stream-Id": stream_id},
                             on_end=lambda reason: master.run(table.ended, pid, reason))
        return await open_stream(master, stream, lambda: table.subscribe(pid, stream_id, stream, subscribe))

    server.route("/api/v1/scheduler", scheduler, methods=("POST",))
    return table
