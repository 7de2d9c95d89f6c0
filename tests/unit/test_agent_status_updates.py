"""The agent's status update manager (pure core, time passed in)."""

from __future__ import annotations

import pytest

from actors.agent.status_updates import StatusUpdateManager


def status(task: str, state: str, uuid: bytes) -> dict[str, object]:
    return {"task_id": {"value": task}, "state": state, "uuid": uuid}


def test_in_order_one_outstanding_per_task() -> None:
    m = StatusUpdateManager(retry_interval=10, max_interval=40)
    m.paused = False
    assert [u.uuid for u in m.update("f", status("t", "TASK_STARTING", b"1"), now=0)[1]] == [b"1"]
    assert m.update("f", status("t", "TASK_RUNNING", b"2"), now=1) == (True, [])  # queued behind b"1"
    assert [u.uuid for u in m.update("f", status("u", "TASK_RUNNING", b"3"), now=1)[1]] == [b"3"]  # own stream
    result = m.acknowledge("f", "t", b"1", now=2)
    assert result.acked is not None and result.acked.uuid == b"1"
    assert [u.uuid for u in result.next] == [b"2"]


def test_retry_backoff_doubles_up_to_the_maximum() -> None:
    m = StatusUpdateManager(retry_interval=10, max_interval=40)
    m.paused = False
    m.update("f", status("t", "TASK_RUNNING", b"1"), now=0)
    assert m.next_deadline() == 10
    assert m.due(now=9.9) == []
    retried = []
    for now in (10, 30, 70, 110, 150):
        due = m.due(now=now)
        assert [u.uuid for u in due] == [b"1"]
        retried.append(m.next_deadline())
    assert retried == [30, 70, 110, 150, 190]  # 20, 40, then capped at 40
    assert m.pending()[0].attempts == 6


def test_duplicates_and_unknown_acks_are_ignored() -> None:
    m = StatusUpdateManager(retry_interval=1, max_interval=8)
    m.paused = False
    m.update("f", status("t", "TASK_RUNNING", b"1"), now=0)
    assert m.update("f", status("t", "TASK_RUNNING", b"1"), now=0) == (False, [])
    assert m.acknowledge("f", "t", b"nope", now=0).acked is None
    assert m.acknowledge("g", "t", b"1", now=0).acked is None
    assert len(m.pending()) == 1
    assert m.acknowledge("f", "t", b"1", now=0).acked is not None
    assert m.acknowledge("f", "t", b"1", now=0).acked is None  # a second ack of the same update
    assert m.is_acknowledged("f", "t", b"1")


def test_terminal_ack_closes_the_stream_and_later_updates_are_dropped() -> None:
    m = StatusUpdateManager(retry_interval=1, max_interval=8)
    m.paused = False
    m.update("f", status("t", "TASK_FINISHED", b"1"), now=0)
    assert m.update("f", status("t", "TASK_RUNNING", b"2"), now=0) == (False, [])  # after the terminal one
    result = m.acknowledge("f", "t", b"1", now=0)
    assert result.stream_closed and m.pending() == [] and m.next_deadline() is None
    assert m.update("f", status("t", "TASK_FAILED", b"3"), now=0) == (False, [])


def test_paused_keeps_updates_and_resume_sends_every_head() -> None:
    m = StatusUpdateManager(retry_interval=5, max_interval=50)
    m.paused = True  # disconnected from the master
    assert m.update("f", status("a", "TASK_RUNNING", b"1"), now=0) == (True, [])
    m.update("f", status("b", "TASK_RUNNING", b"2"), now=0)
    m.update("f", status("b", "TASK_FINISHED", b"3"), now=0)
    assert m.due(now=100) == []
    assert sorted(u.uuid for u in m.resume(now=1)) == [b"1", b"2"]
    assert m.next_deadline() == 6


def test_remove_framework_and_bad_input() -> None:
    m = StatusUpdateManager()
    m.update("f", status("a", "TASK_RUNNING", b"1"), now=0)
    assert m.remove_framework("f") == 1 and m.pending() == []
    with pytest.raises(ValueError, match="uuid"):
        m.update("f", status("a", "TASK_RUNNING", b""), now=0)
    with pytest.raises(ValueError, match="task_id"):
        m.update("f", {"state": "TASK_RUNNING", "uuid": b"x"}, now=0)
    with pytest.raises(ValueError, match="retry interval"):
        StatusUpdateManager(retry_interval=0)
