"""The framework services' shared parts against real processes: ZooKeeperStore and Leadership on
a real ZooKeeper (a leader kill -9'ed: the standby is elected once its session expires), and
``forward`` between two real HTTP servers (method, path, query, body, headers, status; SSE relayed)."""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from actors.ha import StoreError, ZooKeeperServer, ZooKeeperStore
from frameworks.leadership import Leadership
from frameworks.state import open_store
from transport.event_stream import EventStream
from transport.http import HttpReply, HttpRequest, HttpServer, forward, json_reply

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def zk() -> Iterator[ZooKeeperServer]:
    with ZooKeeperServer() as server:
        yield server


def test_zookeeper_store_keeps_keys_across_sessions(zk: ZooKeeperServer) -> None:
    store = open_store(zk.url("/marathon"), "", "state")
    try:
        assert store.get("apps/prod/web") is None and store.keys() == []
        store.put("apps/prod/web", b"v1")
        store.put("apps/prod", b"group")
        store.put("apps/prod/web", b"v2")
        store.put("framework_id", b"")
        store.delete("apps/prod")
        store.delete("never/written")
        with pytest.raises(ValueError, match="'a//b'"):
            store.put("a//b", b"x")
        with pytest.raises(ValueError, match="ZooKeeper takes at most"):
            store.put("big", b"x" * (1 << 20))
    finally:
        store.close()
    again = open_store(zk.url("/marathon"), "", "state")  # a new session sees what the first put
    try:
        assert again.keys() == ["apps/prod/web", "framework_id"] and again.keys("apps/") == ["apps/prod/web"]
        assert again.get("apps/prod/web") == b"v2" and again.get("framework_id") == b""
    finally:
        again.close()
    other = open_store(zk.url("/marathon"), "", "other")  # another name, another namespace
    try:
        assert other.keys() == []
    finally:
        other.close()


def test_a_store_on_an_unreachable_zookeeper_fails_naming_it() -> None:
    with pytest.raises(RuntimeError, match="127.0.0.1:1"):
        ZooKeeperStore("zk://127.0.0.1:1/x", "state", connect_timeout=0.5)


def test_a_put_waits_through_a_zookeeper_restart_and_fails_when_it_stays_gone() -> None:
    with ZooKeeperServer() as server:
        store = ZooKeeperStore(server.url("/svc"), "state", session_timeout=10.0, op_timeout=2.0)
        try:
            store.put("k", b"v")
            server.stop_server(0)
            with pytest.raises(StoreError, match=r"cannot write state key 'k' in ZooKeeper at 127\.0\.0\.1:"):
                store.put("k", b"w")
            server.start_server(0)  # back within the session timeout: the same session goes on
            store.op_timeout = 30.0  # a java start on a loaded machine; the session may have expired
            store.put("k", b"x")
            assert store.get("k") == b"x"
        finally:
            store.close()


_CONTENDER = """
import sys, threading
from frameworks.leadership import Leadership
me = {"host": "127.0.0.1", "http_port": int(sys.argv[2])}
lead = Leadership(sys.argv[1], me, session_timeout=1.0, on_elected=lambda: print("elected", flush=True),
                  on_lost=lambda reason: print("lost", reason, flush=True)).start()
threading.Event().wait()
"""


def test_the_standby_is_elected_when_the_leaders_process_is_killed(zk: ZooKeeperServer) -> None:
    url = zk.url("/svc")
    child = subprocess.Popen([sys.executable, "-c", _CONTENDER, url, "8081"], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": ROOT})
    events: queue.Queue[Any] = queue.Queue()
    standby: Leadership | None = None
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "elected\n"
        standby = Leadership(url, {"host": "127.0.0.1", "http_port": 8082}, session_timeout=1.0,
                             on_elected=lambda: events.put("elected"), on_lost=events.put).start()
        assert not standby.is_leader
        assert standby.leader() == {"host": "127.0.0.1", "http_port": 8081}
        child.send_signal(signal.SIGKILL)  # its session lives on until it times out; then its znode goes
        child.wait(5)
        assert events.get(timeout=30) == "elected"  # a session expiry seen by a java server on a loaded machine
        assert standby.is_leader and standby.leader() == {"host": "127.0.0.1", "http_port": 8082}
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)
        if child.stdout is not None:
            child.stdout.close()
        if standby is not None:
            standby.stop()
    assert events.empty()  # stop() is no loss


def test_without_zookeeper_the_sole_instance_leads_at_start() -> None:
    events: queue.Queue[str] = queue.Queue()
    lead = Leadership(None, {"host": "h"}, on_elected=lambda: events.put("elected"), on_lost=events.put)
    assert not lead.is_leader and lead.leader() is None
    lead.start()
    try:
        assert events.get(timeout=20) == "elected" and lead.is_leader and lead.leader() == {"host": "h"}
    finally:
        lead.stop()


def test_a_leader_cut_off_from_zookeeper_is_told_it_lost() -> None:
    events: queue.Queue[str] = queue.Queue()
    with ZooKeeperServer() as server:
        lead = Leadership(server.url("/svc"), {"host": "h"}, session_timeout=1.0,
                          on_elected=lambda: events.put("elected"), on_lost=events.put).start()
        try:
            assert events.get(timeout=20) == "elected"
            server.stop_server(0)
            assert "ZooKeeper" in events.get(timeout=30) and not lead.is_leader
        finally:
            lead.stop()


# --- forward ---------------------------------------------------------------------------------


class _Leader:
    """A real HTTP server answering what it was sent, and an SSE stream fed from the test."""

    def __init__(self) -> None:
        self.server = HttpServer.bind("127.0.0.1", 0, "leader")
        self.streams: queue.Queue[EventStream] = queue.Queue()
        self.ends: queue.Queue[str] = queue.Queue()
        self.server.route("/v2/apps", self.echo, ("GET", "POST", "PUT", "DELETE"), prefix=True)
        self.server.route("/v2/events", self.events)
        self.server.start()

    async def echo(self, req: HttpRequest) -> HttpReply:
        seen = {"method": req.method, "path": req.path, "query": req.query_string, "body": req.body.decode(),
                "x_custom": req.headers.get("X-Custom"), "via": req.headers.get("X-Mesopy-Forwarded-By")}
        reply = json_reply(seen, status=409 if req.query.get("conflict") else 201)
        reply.headers["X-Marathon-Leader"] = "http://leader"
        return reply

    async def events(self, req: HttpRequest) -> HttpReply:
        stream = EventStream(content_type="text/event-stream", on_end=self.ends.put)
        self.streams.put(stream)
        return HttpReply(stream=stream)


@pytest.fixture(scope="module")
def proxied() -> Iterator[tuple[_Leader, HttpServer]]:
    leader = _Leader()
    follower = HttpServer.bind("127.0.0.1", 0, "follower")
    target = [leader.server.url()]

    async def proxy(req: HttpRequest) -> HttpReply:
        return await forward(req, target[0])

    follower.route("/", proxy, ("GET", "POST", "PUT", "DELETE"), prefix=True)
    follower.start()
    yield leader, follower
    follower.stop()
    leader.server.stop()


def _call(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None,
          ) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_forward_passes_the_call_and_the_reply_unchanged(proxied: tuple[_Leader, HttpServer]) -> None:
    _, follower = proxied
    status, headers, body = _call(follower.url() + "/v2/apps/prod/web?force=true&embed=a&embed=b", "PUT",
                                  b'{"instances": 3}', {"X-Custom": "yes", "Content-Type": "application/json"})
    assert status == 201 and headers["X-Marathon-Leader"] == "http://leader"
    assert headers["Content-Type"].startswith("application/json")
    seen = json.loads(body)
    assert seen == {"method": "PUT", "path": "/v2/apps/prod/web", "query": "force=true&embed=a&embed=b",
                    "body": '{"instances": 3}', "x_custom": "yes", "via": proxied[0].server.url()}
    status, _, body = _call(follower.url() + "/v2/apps?conflict=1", "POST", b"{}")
    assert status == 409 and json.loads(body)["method"] == "POST"
    status, _, body = _call(follower.url() + "/nowhere")
    assert status == 404 and b"no endpoint /nowhere" in body  # the leader's own answer


def test_forward_relays_an_event_stream_until_the_client_goes(proxied: tuple[_Leader, HttpServer]) -> None:
    leader, follower = proxied
    conn = http.client.HTTPConnection("127.0.0.1", follower.port, timeout=10)
    conn.request("GET", "/v2/events", headers={"Accept": "text/event-stream"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type", "").startswith("text/event-stream")
    stream = leader.streams.get(timeout=20)
    stream.push(b"event: deployment_success\ndata: {\"id\": 1}\n\n")
    assert response.readline() == b"event: deployment_success\n"
    assert response.readline() == b'data: {"id": 1}\n'
    stream.push(b"event: status_update_event\n")  # a second event arrives on the same connection
    assert response.readline() == b"\n" and response.readline() == b"event: status_update_event\n"
    conn.close()  # the client goes: the proxy stops reading the leader, whose stream ends
    assert leader.ends.get(timeout=10) == "client_gone"


def test_forward_refuses_loops_and_names_an_unreachable_leader(proxied: tuple[_Leader, HttpServer]) -> None:
    _, follower = proxied
    status, _, body = _call(follower.url() + "/v2/apps", headers={"X-Mesopy-Forwarded-By": "http://other:8080"})
    assert status == 502 and b"http://other:8080" in body
    dead = HttpServer.bind("127.0.0.1", 0, "dead")
    port = dead.port
    dead.stop()  # bound, never served, closed: connections are refused

    async def proxy(req: HttpRequest) -> HttpReply:
        return await forward(req, f"http://127.0.0.1:{port}")

    lonely = HttpServer.bind("127.0.0.1", 0, "lonely")
    lonely.route("/", proxy, prefix=True)
    lonely.start()
    try:
        status, _, body = _call(lonely.url() + "/v2/apps")
        assert status == 502 and f"127.0.0.1:{port}".encode() in body
    finally:
        lonely.stop()
