"""The Process base: a pykka actor with an address, typed handlers and timers.

A subclass installs one handler per message type (``install``); a handler is
called on the actor's thread with ``(sender, message)``. For a request the
handler's return value (a Message, or a Future of one) is the response.

A handler installed ``inline=True`` may instead be called on the node's I/O thread,
when a frame from the wire holding only messages for inline handlers finds the
process with nothing queued and nothing being handled: it then runs at once,
holding the process's turn (``actors.mailbox.TurnInbox``), so never beside
anything else of the process, and skips the hand-off to the actor's thread.
Only for handlers that are short and never block (no waiting on futures,
locks held by others, files or sockets): while one runs, nothing else of the
node reaches the wire.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future
from typing import Any, Callable, NamedTuple, TypeVar

import pykka
import structlog

from actors.clock import Timer
from actors.errors import PeerExited, ProcessStopped, RemoteError, RequestTimeout
from actors.mailbox import Mailbag, PeerExitedNotice, TurnInbox
from actors.node import Node
from transport.codec import Envelope
from transport.counters import Counters
from transport.messages import RequestFailed
from transport.pid import PID
from transport.schema import Message

__all__ = ["Process", "Handler"]

M = TypeVar("M", bound=Message)
_PRUNE_MIN = 64  # timers a process holds before it looks for cancelled ones to drop
_INLINE_MAX = 16  # envelopes of one frame the I/O thread handles inline, at most
Handler = Callable[[PID, Any], Any]


class _Request(NamedTuple):
    """A request awaiting its answer."""

    to: PID
    future: Future[Any]
    timer: Timer | None  # its timeout, cancelled when it is answered


class _Call:
    __slots__ = ("fn", "args")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args


class Process(pykka.ThreadingActor):
    """Base of every mesopy actor. ``Process.spawn(node, name, ...)`` starts one."""

    def __init__(self, node: Node, name: str) -> None:
        self.node = node  # before pykka's __init__, which asks _create_actor_inbox for the mailbox
        self._name = name
        super().__init__()
        self.clock = node.clock
        self.counters = Counters()
        self._handlers: dict[type[Message], Handler] = {}
        self._inline: set[type[Message]] = set()  # types whose handler may run on the I/O thread
        self._links: set[PID] = set()
        self._monitored: set[PID] = set()
        self._pending: dict[int, _Request] = {}
        self._pending_lock = threading.Lock()
        self._correlation = itertools.count(1)
        self._timers: set[Timer] = set()  # to cancel at stop; cancelled ones are pruned as it grows
        self._timers_lock = threading.Lock()  # fire() discards on the clock's thread
        self._timers_prune_at = _PRUNE_MIN
        self._stopped = False
        # Envelopes the node has queued here (counted under the mailbox lock) and
        # envelopes handled: equal when nothing sent to this process is still ahead.
        self.posted = 0
        self.handled = 0
        try:
            self.pid = node.register(name, self)
        except BaseException:
            self._close_inbox()
            raise
        self.log = structlog.get_logger(type(self).__module__).bind(pid=str(self.pid))

    @classmethod
    def spawn(cls, node: Node, *args: Any, **kwargs: Any) -> pykka.ActorRef[Any]:
        """Start an instance on ``node``; its first argument after node is its name."""
        return cls.start(node, *args, **kwargs)

    # --- hooks for subclasses ------------------------------------------------

    def initialize(self) -> None:
        """Runs on the actor's thread before the first message."""

    def finalize(self) -> None:
        """Runs on the actor's thread after the last message."""

    def exited(self, pid: PID) -> None:
        """A linked process stopped or its node died. Called once per link."""

    # --- pykka plumbing ------------------------------------------------------

    def _create_actor_inbox(self) -> Any:  # type: ignore[override]  # pykka's hook, a staticmethod there
        """A queue with a turn lock, or one reporting to the activity of a cluster on a manual
        clock (that one has no turn: its order is the activity's, nothing runs inline)."""
        activity = getattr(self.node.clock, "activity", None)
        return TurnInbox() if activity is None else activity.inbox(self._name)

    def on_start(self) -> None:
        begin = getattr(self.actor_inbox, "begin", None)
        if begin is not None:  # an ActivityInbox: start in turn
            begin()
        try:
            self.initialize()
        except Exception:  # pykka stops the actor without on_stop: free the name and fail waiters here
            self.log.exception("process_initialize_failed")
            self._shutdown()
            raise

    def on_stop(self) -> None:
        try:
            self.finalize()
        finally:
            self._shutdown()

    def on_failure(self, *exc: Any) -> None:
        self.log.error("process_failed", exc_info=exc)
        self._shutdown()

    def _shutdown(self) -> None:
        self._stopped = True
        with self._timers_lock:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        for request in pending.values():
            if request.timer is not None:
                request.timer.cancel()
            request.future.set_exception(ProcessStopped(f"{self.pid} stopped before {request.to} answered"))
        self.node.unregister(self.pid)
        self._close_inbox()

    def _close_inbox(self) -> None:
        close = getattr(self.actor_inbox, "close", None)
        if close is not None:  # an ActivityInbox: nothing more will be handled here
            close()

    def on_receive(self, item: Any) -> Any:
        kind = type(item)
        if kind is Mailbag:  # envelopes from the node, in order
            self._handle_all(item)
        elif kind is _Call:
            item.fn(*item.args)
        elif kind is PeerExitedNotice:
            self._peer_exited(item.pid)
        else:
            self.log.warning("unexpected_item", item=repr(item)[:100])
        return None

    # --- messaging -----------------------------------------------------------

    def install(self, message_type: type[M], handler: Callable[[PID, M], Any], inline: bool = False) -> None:
        """Call ``handler(sender, message)`` for each ``message_type`` received.

        ``inline``: the handler is short and never blocks, so the node's I/O thread may run
        it when the process is idle (see the module's docs); otherwise it runs on the
        actor's thread as every other handler does."""
        self._handlers[message_type] = handler
        if inline:
            self._inline.add(message_type)
        else:
            self._inline.discard(message_type)

    def takes_inline(self, envs: list[Envelope]) -> bool:
        """Whether ``envs`` (one frame's, for this process) are all for inline handlers."""
        inline = self._inline
        if not inline or len(envs) > _INLINE_MAX:
            return False
        for env in envs:
            if env.correlation < 0 or type(env.message) not in inline:
                return False
        return True

    def handle_inline(self, envs: list[Envelope]) -> None:
        """Handle ``envs`` on this thread; the caller holds the turn, given back here."""
        try:
            self._handle_all(envs)
        finally:
            self.actor_inbox.turn.release()  # type: ignore[attr-defined]  # a TurnInbox: try_turn found its turn

    def _handle_all(self, envs: list[Envelope]) -> None:
        """Handle the envelopes the node posted, in order; each counts as handled even if it failed."""
        try:
            for env in envs:
                self._handle(env)
        finally:
            self.handled += len(envs)

    def send(self, to: PID, msg: Message) -> None:
        """Fire and forget: at most once, in order per sender/receiver pair."""
        self.counters.incr("sent", type(msg).__name__)
        self.node.route(self.pid, to, msg)

    def request(self, to: PID, msg: Message, timeout: float | None = 10.0) -> Future[Any]:
        """Send ``msg`` and return a future of the response (any thread may call it).

        The future fails with RequestTimeout after ``timeout`` seconds of this
        node's clock, PeerExited if ``to`` exits first, ProcessStopped if we
        stop first, RemoteError if the receiver could not answer.

        It is settled only after every message that reached this process before
        the answer has been handled, but not always on this process's thread:
        when nothing is ahead of it, the thread that brings the answer (the
        node's I/O thread, or the answering local process) settles it at once.
        Keep done-callbacks short; hand work to this process with ``run``.
        """
        correlation = next(self._correlation)
        future: Future[Any] = Future()
        with self._pending_lock:
            if self._stopped:
                future.set_exception(ProcessStopped(f"{self.pid} is stopped"))
                return future
            timer = None if timeout is None else self.clock.call_later(
                timeout, lambda: self._expire(correlation, timeout))
            self._pending[correlation] = _Request(to, future, timer)
        if to not in self._monitored:
            self._monitored.add(to)
            self.node.link(self.pid, to)
        self.counters.incr("sent", type(msg).__name__)
        self.node.route(self.pid, to, msg, correlation)
        return future

    def _expire(self, correlation: int, timeout: float) -> None:
        with self._pending_lock:
            request = self._pending.pop(correlation, None)
        if request is not None:
            request.future.set_exception(RequestTimeout(f"{request.to} did not answer within {timeout} s"))

    def _answered(self, correlation: int) -> _Request | None:
        """Take the request ``correlation`` off the pending table and stop its timeout."""
        with self._pending_lock:
            request = self._pending.pop(correlation, None)
        if request is not None and request.timer is not None:
            request.timer.cancel()
        return request

    def complete(self, env: Envelope) -> None:
        """Settle the request that ``env`` answers (any thread)."""
        type_name = type(env.message).__name__
        request = self._answered(-env.correlation)
        if request is None:
            self.counters.incr("dropped", type_name)
            return
        self.counters.incr("received", type_name)
        if type(env.message) is RequestFailed:
            request.future.set_exception(RemoteError(env.message.error))
        else:
            request.future.set_result(env.message)

    def _handle(self, env: Envelope) -> None:
        if env.correlation < 0:
            self.complete(env)
            return
        msg = env.message
        type_name = type(msg).__name__
        handler = self._handlers.get(type(msg))
        if handler is None:
            self.counters.incr("rejected", type_name)
            self.log.warning("message_unhandled", type=type_name, sender=str(env.sender))
            if env.correlation > 0:
                self._reply(env, RequestFailed(error=f"{self.pid} does not handle {type_name}"))
            return
        self.counters.incr("received", type_name)
        try:
            result = handler(env.sender, msg)
        except Exception as e:
            self.log.exception("handler_failed", type=type_name, sender=str(env.sender))
            if env.correlation > 0:
                self._reply(env, RequestFailed(error=f"{type_name} failed: {e}"))
            return
        if env.correlation > 0:
            self._reply(env, result)

    def _reply(self, env: Envelope, result: Any) -> None:
        if isinstance(result, Future):
            result.add_done_callback(lambda f: self._reply(env, _outcome(f)))
            return
        if not isinstance(result, Message):
            result = RequestFailed(error=f"{type(env.message).__name__} has no response")
        self.node.route(self.pid, env.sender, result, -env.correlation)

    # --- links and timers ------------------------------------------------------

    def link(self, pid: PID) -> None:
        """``exited(pid)`` will be called once when ``pid`` stops or its node dies."""
        self._links.add(pid)
        self._monitored.add(pid)
        self.node.link(self.pid, pid)

    def _peer_exited(self, pid: PID) -> None:
        self._monitored.discard(pid)
        with self._pending_lock:
            failed = [c for c, request in self._pending.items() if request.to == pid]
        for correlation in failed:
            request = self._answered(correlation)
            if request is not None:
                request.future.set_exception(PeerExited(f"{pid} exited before answering"))
        if pid in self._links:
            self._links.discard(pid)
            self.exited(pid)

    def delay(self, seconds: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` on this actor's thread after ``seconds`` of the node's clock."""

        def fire() -> None:
            with self._timers_lock:  # after delay() has recorded ``timer``: it holds the lock until then
                self._timers.discard(timer)
            self.run(fn, *args)

        with self._timers_lock:  # the clock's thread may fire a delay of 0 before call_later returns
            timer = self.clock.call_later(seconds, fire)
            self._timers.add(timer)
            if len(self._timers) > self._timers_prune_at:  # a timer cancelled never fires: drop those
                self._timers = {t for t in self._timers if not t.cancelled}
                self._timers_prune_at = max(_PRUNE_MIN, 2 * len(self._timers))
        return timer

    def run(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on this actor's thread (from any thread); ignored once stopped."""
        try:
            self.actor_ref.tell(_Call(fn, args))
        except pykka.ActorDeadError:
            pass


def _outcome(future: Future[Any]) -> Any:
    error = future.exception()
    if error is not None:
        return RequestFailed(error=str(error))
    return future.result()
