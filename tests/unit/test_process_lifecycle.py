"""Process and endpoint life-cycle edges: failed start-up, nodes never started."""

from __future__ import annotations

import gc

import pytest

from actors.clock import ManualClock
from actors.errors import PeerExited, RemoteError
from actors.node import Node
from actors.process import Process
from transport.endpoint import Endpoint
from transport.messages import Echo


class _FailsToStart(Process):
    def initialize(self) -> None:
        raise RuntimeError("boom")


class _Watcher(Process):
    pass


def test_a_process_whose_initialize_fails_frees_its_name_and_tells_linkers() -> None:
    with Node() as node:
        watcher = _Watcher.spawn(node, "watcher").proxy()
        ref = _FailsToStart.spawn(node, "fragile")
        ref.actor_stopped.wait(5)
        assert ref.actor_stopped.is_set()
        assert "fragile" not in node.names()
        # The name can be used again, and a request to the dead one fails at once.
        again = _Watcher.spawn(node, "fragile")
        again.stop()
        future = watcher.request(node.pid("fragile"), Echo(payload=b"x")).get()
        with pytest.raises((PeerExited, RemoteError)):
            future.result(5)


def test_an_endpoint_never_started_holds_no_zmq_context() -> None:
    endpoint = Endpoint(on_envelope=lambda env: None)
    assert endpoint._context is None
    endpoint.stop()  # closes its wake-up pipe without touching zmq
    del endpoint
    gc.collect()


def test_a_node_built_but_never_started_can_be_dropped() -> None:
    node = Node()
    with pytest.raises(RuntimeError, match="not started"):
        _Watcher.spawn(node, "early")
    del node
    gc.collect()


class _Answers(Process):
    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        self.install(Echo, lambda sender, msg: msg)


def test_an_answered_request_cancels_its_timeout() -> None:
    clock = ManualClock()
    with Node(clock=clock) as node:
        asker = _Watcher.spawn(node, "asker").proxy()
        _Answers.spawn(node, "answers")
        futures = [asker.request(node.pid("answers"), Echo(payload=b"x", seq=i), timeout=30).get()
                   for i in range(5)]
        assert [f.result(5).seq for f in futures] == list(range(5))
        assert clock.pending() == 0
        unanswered = asker.request(node.pid("nobody-here"), Echo(payload=b"x"), timeout=30).get()
        with pytest.raises((PeerExited, RemoteError)):  # failed at once, which also stops the timer
            unanswered.result(5)
        assert clock.pending() == 0


class _Callback:
    """A timer callback whose release can be seen through a weak reference."""

    def __call__(self) -> None:
        pass


def test_timers_cancelled_before_they_fire_are_released() -> None:
    import weakref

    clock = ManualClock()
    with Node(clock=clock) as node:
        holder: list[Process] = []

        class _Keeps(Process):
            def initialize(self) -> None:
                holder.append(self)

        _Keeps.spawn(node, "delays")
        process = holder[0]
        alive: list[weakref.ref[_Callback]] = []
        for _ in range(1000):  # as an agent arms and cancels an executor registration timeout per task
            callback = _Callback()
            alive.append(weakref.ref(callback))
            process.delay(60.0, callback).cancel()
            del callback
        gc.collect()
        left = sum(ref() is not None for ref in alive)
        assert left <= 200, f"{left} of 1000 cancelled timers still held"


def test_delays_of_zero_from_another_thread_all_run_and_leave_no_timer_behind() -> None:
    # The clock's thread may fire a delay of 0 before call_later has returned it to delay().
    import sys
    import threading

    made: list[Process] = []

    class Delayer(Process):
        def initialize(self) -> None:
            made.append(self)

    with Node() as node:
        Delayer.spawn(node, "delayer").proxy().pid.get()  # started
        (process,) = made
        ran: list[int] = []
        done = threading.Event()
        count = 2000

        def note(i: int) -> None:
            ran.append(i)
            if len(ran) == count:
                done.set()

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads as often as CPython can: into the window, if there is one
        try:
            for i in range(count):
                process.delay(0, note, i)
        finally:
            sys.setswitchinterval(interval)
        assert done.wait(10), f"{len(ran)} of {count} delays ran"
        assert sorted(ran) == list(range(count))
        with process._timers_lock:
            assert not process._timers
