"""actors.agent.emulated: what a test may give as a task rule, and the steps it makes."""

from __future__ import annotations

import pytest

from actors.agent.emulated import TaskRule, as_rule, describe_exit

TASK = {"name": "t", "task_id": {"value": "t-1"}}


def test_seconds_finish_and_an_exit_status_fails_with_the_command_executors_message() -> None:
    assert as_rule(60, TASK).steps() == [(60.0, "TASK_FINISHED", "Command exited with status 0")]
    assert TaskRule(duration=5, exit_status=3).steps() == [(5.0, "TASK_FAILED", "Command exited with status 3")]
    assert TaskRule(duration=1, exit_status=-9).steps() == [
        (1.0, "TASK_FAILED", "Command terminated by signal SIGKILL")]
    assert describe_exit(-15) == "Command terminated by signal SIGTERM"


def test_none_runs_until_killed_and_states_are_sent_in_order() -> None:
    assert as_rule(None, TASK).steps() == []
    assert as_rule(["TASK_FAILED"], TASK).steps() == [(0.0, "TASK_FAILED", "")]
    assert as_rule([(2, "TASK_KILLING"), (1.5, "TASK_KILLED")], TASK).steps() == [
        (2.0, "TASK_KILLING", ""), (1.5, "TASK_KILLED", "")]


def test_a_callable_chooses_per_task() -> None:
    rule = as_rule(lambda task: 7 if task["task_id"]["value"] == "t-1" else None, TASK)
    assert rule == TaskRule(duration=7.0)


@pytest.mark.parametrize(("source", "error", "text"), [
    (-1, ValueError, "duration must be a number >= 0 or None, got -1"),
    (["TASK_DONE"], ValueError, "unknown task state 'TASK_DONE'"),
    ([(-2, "TASK_FAILED")], ValueError, "seconds before TASK_FAILED must be a number >= 0, got -2"),
    ("soon", TypeError, "got 'soon'"),
    (True, TypeError, "got True"),
    (lambda task: (lambda t: 1), TypeError, "not another callable"),
])
def test_a_bad_rule_is_refused_naming_the_bad_value(source: object, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        as_rule(source, TASK)


def test_exit_status_must_be_an_int() -> None:
    with pytest.raises(ValueError, match="exit_status must be an int, got '1'"):
        TaskRule(exit_status="1")  # type: ignore[arg-type]
