"""``POST /api/v1/executor``: Mesos' v1 executor HTTP API on the agent's HTTP port.

``SUBSCRIBE`` is answered with a chunked RecordIO event stream (as the
master's scheduler API: transport/event_stream.py, one coroutine each), whose
first event is ``SUBSCRIBED``; ``UPDATE`` and ``MESSAGE`` are answered ``202``.
The executor is served as a local peer of the agent (``AgentProcess.local_peers``,
pid ``http-executor-...``): registered, entitled and told exactly as a driver
executor, so HTTP and driver executors are interchangeable under one agent.
Its OS process exit (the agent's reaper) decides its end, as for any executor;
a stream's end only stops the deliveries. Errors: 405/415/406/400 as the
scheduler API, 403 for a call of an executor not subscribed on a stream.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import structlog

from actors.agent.executor_api import event_of, framework_message, parse_call, status_update
from actors.http_common import check_media_types, encoded, on_actor, open_stream
from actors.v1_api import HEARTBEAT, CallError, http_pid
from transport import messages as m
from transport.event_stream import EventStream
from transport.http import HttpError, HttpReply, HttpRequest, HttpServer
from transport.recordio import encode
from transport.schema import Message

if TYPE_CHECKING:
    from actors.agent.process import AgentProcess

__all__ = ["HEARTBEAT_SECONDS", "install_executor_route"]

log = structlog.get_logger(__name__)
HEARTBEAT_SECONDS = 15.0  # Mesos' executor API heartbeat


def install_executor_route(server: HttpServer, agent: AgentProcess) -> None:
    """Route ``/api/v1/executor`` (POST) to ``agent``."""
    streams: dict[str, EventStream] = {}  # pid -> stream; on the agent's thread
    heartbeat = encode(encoded(HEARTBEAT))

    def deliver(pid: str, msg: Message) -> None:
        stream = streams.get(pid)
        executor = agent.table.by_pid(pid)
        event = event_of(msg, executor.container_id if executor is not None else "")
        if stream is None or event is None:
            return
        stream.push(encode(encoded(event)))
        if isinstance(msg, m.ShutdownExecutor):
            streams.pop(pid, None)
            agent.local_peers.pop(pid, None)
            stream.close()

    def subscribe(pid: str, stream: EventStream, framework_id: str, executor_id: str) -> HttpReply | None:
        streams[pid] = stream
        agent.local_peers[pid] = lambda message: deliver(pid, message)
        log.info("http_executor_subscribing", pid=pid, framework_id=framework_id, executor_id=executor_id)
        agent.handle_local(pid, m.RegisterExecutor(framework_id=framework_id, executor_id=executor_id))
        return None

    def ended(pid: str, reason: str) -> None:
        streams.pop(pid, None)
        agent.local_peers.pop(pid, None)
        log.info("http_executor_stream_ended", pid=pid, reason=reason)

    def call(kind: str, framework_id: str, executor_id: str, build: Message) -> HttpReply:
        executor = agent.table.executors.get((framework_id, executor_id))
        if executor is None or executor.pid not in streams:
            raise HttpError(403, f"Executor {executor_id!r} of framework {framework_id!r} is not subscribed")
        agent.handle_local(executor.pid, build)
        return HttpReply(status=202, content_type="text/plain")

    async def executor_api(request: HttpRequest) -> HttpReply:
        check_media_types(request)
        try:
            parsed = parse_call(request.body)
            if parsed.kind == "UPDATE":
                msg: Message = status_update(parsed, agent.agent_id)
            elif parsed.kind == "MESSAGE":
                msg = framework_message(parsed, agent.agent_id)
        except CallError as e:
            raise HttpError(e.status, e.message) from None
        fid, eid = parsed.framework_id, parsed.executor_id
        if parsed.kind != "SUBSCRIBE":
            return await on_actor(agent, lambda: call(parsed.kind, fid, eid, msg))
        pid = http_pid("executor", str(uuid.uuid4()), request.peer)
        stream = EventStream(heartbeat_every=HEARTBEAT_SECONDS, heartbeat=heartbeat,
                             on_end=lambda reason: agent.run(ended, pid, reason))
        return await open_stream(agent, stream, lambda: subscribe(pid, stream, fid, eid))

    server.route("/api/v1/executor", executor_api, methods=("POST",))
