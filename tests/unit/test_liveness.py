"""Heartbeat bookkeeping, driven with ``now`` passed in."""

from __future__ import annotations

import pytest

from transport.liveness import Disconnections, Incarnations, Liveness

A = "10.0.0.1:5050"
B = "10.0.0.2:5051"


@pytest.mark.parametrize("interval, timeout", [(0, 1), (-1, 1), (1, 1), (2, 1)])
def test_bad_settings_are_refused(interval: float, timeout: float) -> None:
    with pytest.raises(ValueError, match="heartbeat interval"):
        Liveness(interval, timeout)


def test_pings_every_interval_while_answered() -> None:
    live = Liveness(0.5, 2.0)
    live.watch(A, now=0.0)
    assert live.tick(0.0) == ([A], [])
    assert live.tick(0.1) == ([], [])
    live.heard_from(A, 0.2)
    assert live.tick(0.5) == ([A], [])
    for t in (1.0, 1.5, 2.0, 2.5, 3.0):
        live.heard_from(A, t - 0.1)
        ping, lost = live.tick(t)
        assert ping == [A] and lost == []
    assert live.watched() == [A]


def test_silent_peer_is_lost_once_after_timeout_and_forgotten() -> None:
    live = Liveness(0.5, 2.0)
    live.watch(A, now=10.0)
    live.watch(B, now=10.0)
    live.tick(10.0)
    live.heard_from(B, 11.5)
    assert live.tick(11.9)[1] == []
    ping, lost = live.tick(12.0)
    assert lost == [A] and A not in ping
    assert live.watched() == [B]
    assert live.tick(12.1)[1] == []  # reported once
    live.heard_from(A, 12.2)  # a late pong for a forgotten address changes nothing
    assert live.watched() == [B]
    assert live.tick(13.5)[1] == [B]
    assert live.watched() == []


def test_watch_again_follows_a_restarted_peer() -> None:
    live = Liveness(1.0, 3.0)
    live.watch(A, now=0.0)
    assert live.tick(3.0)[1] == [A]
    live.watch(A, now=5.0)
    assert live.tick(7.0)[1] == []
    assert live.tick(8.0)[1] == [A]


def test_watchers_are_counted() -> None:
    live = Liveness(1.0, 3.0)
    live.watch(A, 0.0)
    live.watch(A, 0.0)
    live.unwatch(A)
    assert live.watched() == [A]
    live.unwatch(A)
    assert live.watched() == []
    assert live.tick(10.0) == ([], [])
    live.unwatch(B)  # never watched: harmless
    assert live.watched() == []


def test_heard_from_does_not_start_watching() -> None:
    live = Liveness(1.0, 3.0)
    live.heard_from(A, 1.0)
    assert live.watched() == []
    assert live.tick(100.0) == ([], [])


def test_next_deadline() -> None:
    live = Liveness(0.5, 2.0)
    assert live.next_deadline(0.0) == 0.5  # nothing watched: wake at the interval
    live.watch(A, now=0.0)
    assert live.next_deadline(0.0) == 0.0  # first ping is due
    live.tick(0.0)
    assert live.next_deadline(0.1) == pytest.approx(0.4)  # next ping
    live.tick(1.5)  # pings; next at 2.0; A times out at 2.0
    live.heard_from(A, 1.9)
    live.tick(2.0)
    assert live.next_deadline(2.0) == pytest.approx(0.5)
    assert live.next_deadline(10.0) == 0.0  # overdue is never negative


def test_another_incarnation_at_an_address_ends_the_one_known() -> None:

    known = Incarnations()
    assert known.of("h:1") == ""
    assert known.learn("h:1", "first") == ""  # first heard: replaces nothing
    assert known.learn("h:1", "first") == ""
    assert known.of("h:1") == "first" and not known.ended("first")
    assert known.learn("h:1", "second") == "first"  # a new process on the same port
    assert known.of("h:1") == "second" and known.ended("first") and not known.ended("second")
    assert known.learn("h:1", "third") == "second"  # and again, every time
    assert known.ended("second")


def test_incarnations_are_bounded() -> None:

    known = Incarnations(limit=3)
    for i in range(10):
        known.learn(f"h:{i}", f"a{i}")
        known.learn(f"h:{i}", f"b{i}")
    assert [known.of(f"h:{i}") for i in range(10)] == [""] * 7 + ["b7", "b8", "b9"]
    assert [known.ended(f"a{i}") for i in range(10)] == [False] * 7 + [True] * 3


def test_forget_stops_watching_at_once() -> None:
    live = Liveness(interval=1.0, timeout=5.0)
    live.watch(A, now=0.0)
    live.watch(A, now=0.0)
    assert live.forget(A) is True  # whatever the count of watchers
    assert live.watched() == [] and live.tick(100.0) == ([], [])
    assert live.forget(A) is False


def test_pongs_carry_the_incarnation() -> None:
    from transport.liveness import parse_control, pong_frame

    control = parse_control(pong_frame(b"10.0.0.1:5050", "abc123"))
    assert control is not None and (control.kind, control.address, control.incarnation) == (
        "pong", "10.0.0.1:5050", "abc123")


def test_a_routing_id_names_the_incarnation_and_the_stamp_the_receiver() -> None:
    from transport.liveness import routing_id, split_message, stamp

    assert split_message(routing_id("abc123", 7), [b"frame"]) == ("abc123", b"", [b"frame"])
    assert split_message(routing_id("abc123", 8), [stamp("def456"), b"frame"]) == ("abc123", b"def456", [b"frame"])
    assert split_message(b"\x00\x12\x34\x56\x78", [b"frame"]) == ("", b"", [b"frame"])  # ZeroMQ's own id
    assert split_message(b"x", [b"a", b"b"]) == ("x", b"", [b"a", b"b"])  # not a stamp: left for the caller


def test_a_closed_connection_then_refused_is_a_dead_peer() -> None:
    d = Disconnections(limit=2)
    assert not d.retried("a:1")  # retries of a connection never closed under us mean nothing
    d.disconnected("a:1")
    assert not d.retried("a:1")  # ZeroMQ schedules the reconnection at once
    assert d.retried("a:1")  # the attempt failed: nothing listens there
    assert not d.retried("a:1")  # reported once
    d.disconnected("b:1")
    d.retried("b:1")
    d.connected("b:1")  # it came back (a restart, or a blip): alive
    assert not d.retried("b:1")
    for address in ("c:1", "d:1", "e:1"):
        d.disconnected(address)
    d.retried("c:1")
    assert not d.retried("c:1")  # forgotten: the limit keeps the newest two


def test_an_ended_address_replaces_nobody() -> None:
    inc = Incarnations()
    inc.learn("a:1", "one")
    assert inc.end("a:1") == "one" and inc.ended("one")
    assert inc.learn("a:1", "two") == ""
