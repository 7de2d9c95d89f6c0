"""Inline handlers (``Process.install(..., inline=True)``): run on the node's I/O thread when the
process is idle and its turn is free, on the actor's thread otherwise; never beside anything else
of the process, never ahead of what was sent before them."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from actors.clock import ManualClock
from actors.mailbox import TurnInbox
from actors.node import Node
from actors.quiescence import Activity
from tests.integration.peer import TrackedProcess
from tests.integration.runtime_support import WAIT, Collector, result
from transport.messages import Echo, PingAgent
from transport.pid import PID

pytestmark = pytest.mark.integration


class Answerer(TrackedProcess):
    """Answers Echo inline, noting the thread each ran on and the order."""

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        self.threads: list[str] = []
        self.order: list[Any] = []
        self.install(Echo, self.on_echo, inline=True)

    def on_echo(self, sender: PID, msg: Echo) -> Echo:
        self.threads.append(threading.current_thread().name)
        self.order.append(msg.seq)
        return msg

    def actor_thread(self) -> str:
        names: queue.Queue[str] = queue.Queue()
        self.run(lambda: names.put(threading.current_thread().name))
        return names.get(timeout=WAIT)


@pytest.fixture
def nodes() -> Iterator[tuple[Node, Node]]:
    with Node() as near, Node() as far:
        yield near, far


def test_an_idle_process_answers_inline_on_the_io_thread(nodes: tuple[Node, Node]) -> None:
    near, far = nodes
    answerer = Answerer.launch(far, "answerer")
    me = Collector.launch(near, "me")
    for seq in range(5):
        assert result(me.request(answerer.pid, Echo(seq=seq))).seq == seq
    assert answerer.threads == [f"endpoint-{far.endpoint.port}"] * 5
    assert answerer.actor_thread() != answerer.threads[0]
    assert answerer.handled == answerer.posted == 5


def test_a_busy_process_takes_inline_messages_through_its_mailbox_in_order(nodes: tuple[Node, Node]) -> None:
    """While the actor's thread runs something, a request for an inline handler waits in the mailbox
    and runs on the actor's thread afterwards, after what was queued before it."""
    near, far = nodes
    answerer = Answerer.launch(far, "answerer")
    actor = answerer.actor_thread()
    me = Collector.launch(near, "me")
    busy, release = threading.Event(), threading.Event()

    def hold() -> None:
        busy.set()
        assert release.wait(WAIT)
        answerer.order.append("run")

    probe = Collector.launch(far, "probe")
    probed = probe.expecting(1)
    answerer.run(hold)
    assert busy.wait(WAIT)
    answers = [me.request(answerer.pid, Echo(seq=seq)) for seq in range(3)]
    me.send(probe.pid, Echo(seq=3))  # on the same connection: once it is in, so are the requests
    assert probed.wait(WAIT)
    assert not any(a.done() for a in answers)
    release.set()
    assert [result(a).seq for a in answers] == [0, 1, 2]
    assert answerer.order == ["run", 0, 1, 2]
    assert answerer.threads == [actor] * 3


def test_an_inline_message_never_overtakes_one_queued_before_it(nodes: tuple[Node, Node]) -> None:
    """A message for a handler on the actor's thread, then inline ones from the same sender: in order."""
    near, far = nodes

    class Mixed(Answerer):
        def __init__(self, node: Node, name: str) -> None:
            super().__init__(node, name)
            self.install(PingAgent, lambda sender, msg: self.order.append("ping"))  # on the actor's thread

    answerer = Mixed.launch(far, "mixed")
    me = Collector.launch(near, "me")

    answers: queue.Queue[Any] = queue.Queue()

    def burst() -> None:  # the first sends of a burst go out at once, each in its own frame
        me.send(answerer.pid, PingAgent())
        for seq in range(3):
            me.send(answerer.pid, Echo(seq=seq))
        answers.put(me.request(answerer.pid, Echo(seq=3)))

    for round_ in range(30):
        me.run(burst)
        assert result(answers.get(timeout=WAIT)).seq == 3
        assert answerer.order[-5:] == ["ping", 0, 1, 2, 3], round_
    assert len(answerer.order) == 30 * 5


def test_inline_handlers_never_run_beside_the_actors_own_thread(nodes: tuple[Node, Node]) -> None:
    """Each request (inline when the turn is free) goes out as the process gets a run and, every third
    time, a timer (both on the actor's thread): no two of its callbacks ever overlap."""
    near, far = nodes

    class Exclusive(Answerer):
        def __init__(self, node: Node, name: str) -> None:
            super().__init__(node, name)
            self.inside = False
            self.overlaps = 0
            self.calls = 0
            self.expected = -1
            self.all_called = threading.Event()

        def enter(self) -> None:
            if self.inside:
                self.overlaps += 1
            self.inside = True
            for _ in range(2000):  # a window (~100 us) for another thread to come in, if it could
                self.calls += 0
            self.calls += 1
            self.inside = False
            if self.calls == self.expected:
                self.all_called.set()

        def on_echo(self, sender: PID, msg: Echo) -> Echo:
            self.enter()
            return super().on_echo(sender, msg)

    target = Exclusive.launch(far, "exclusive")
    me = Collector.launch(near, "me")
    n = 300
    target.expected = 2 * n + (n + 2) // 3  # each request, run and timer
    done = threading.Event()
    answered: list[int] = []

    def ask(i: int) -> None:
        def next_(_: Any) -> None:
            answered.append(i)
            if i + 1 < n:
                ask(i + 1)
            else:
                done.set()

        target.run(target.enter)
        if i % 3 == 0:
            target.delay(0, target.enter)
        me.request(target.pid, Echo(seq=i)).add_done_callback(next_)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so that an overlap would show
    try:
        me.run(ask, 0)
        assert done.wait(WAIT * 3)
        assert target.all_called.wait(WAIT)
    finally:
        sys.setswitchinterval(interval)
    assert target.overlaps == 0
    assert answered == list(range(n))
    # Runs and timers are the actor thread's; some requests were handled inline beside them.
    assert f"endpoint-{far.endpoint.port}" in target.threads


def test_a_manual_clock_cluster_never_runs_handlers_inline() -> None:
    """Its mailboxes take turns in the activity's order: nothing may run on the I/O thread."""
    clock = ManualClock(activity=Activity())
    with Node(clock=clock) as far, Node() as near:
        answerer = Answerer.launch(far, "answerer")
        me = Collector.launch(near, "me")
        assert result(me.request(answerer.pid, Echo(seq=1))).seq == 1
        assert answerer.threads == [answerer.actor_thread()]


def test_the_turn_is_free_only_while_the_actor_waits_for_an_item() -> None:
    inbox = TurnInbox()
    assert not inbox.turn.acquire(blocking=False)  # taken when made: the actor has not started
    seen: list[bool] = []

    def actor() -> None:
        inbox.get()  # waits with the turn free
        seen.append(inbox.turn.locked())
        with pytest.raises(queue.Empty):
            inbox.get(timeout=0.01)
        seen.append(inbox.turn.locked())  # taken again even when nothing came

    thread = threading.Thread(target=actor)
    thread.start()
    assert inbox.turn.acquire(timeout=WAIT)  # the actor waits for an item: the turn is free
    inbox.put("item")
    inbox.turn.release()
    thread.join(WAIT)
    assert seen == [True, True]
    assert inbox.turn.locked()


def test_a_stopped_process_gets_nothing_inline(nodes: tuple[Node, Node]) -> None:
    near, far = nodes
    answerer = Answerer.launch(far, "answerer")
    me = Collector.launch(near, "me")
    assert result(me.request(answerer.pid, Echo(seq=1))).seq == 1
    answerer.actor_ref.stop()
    inbox = answerer.actor_inbox
    assert isinstance(inbox, TurnInbox) and inbox.turn.locked()  # never given back after the stop
    failure = me.request(answerer.pid, Echo(seq=2)).exception(WAIT)
    assert failure is not None
    assert answerer.threads == [f"endpoint-{far.endpoint.port}"]


def test_install_without_inline_takes_a_type_back_to_the_actors_thread(nodes: tuple[Node, Node]) -> None:
    near, far = nodes
    answerer = Answerer.launch(far, "answerer")
    answerer.install(Echo, answerer.on_echo)  # again, not inline
    me = Collector.launch(near, "me")
    assert result(me.request(answerer.pid, Echo(seq=1))).seq == 1
    assert answerer.threads == [answerer.actor_thread()]
