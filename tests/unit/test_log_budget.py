"""The log budget of rejected input: the first few in full, then a counted summary line."""

from __future__ import annotations

import pytest

from transport.logbudget import LogBudget


def test_first_in_full_then_every_nth_as_a_summary() -> None:
    budget = LogBudget(first=3, reason_first=50, every=100)
    verdicts = [budget.spend("garbage", "peer-a") for _ in range(1000)]
    assert [v.full for v in verdicts[:4]] == [True, True, True, False]
    summaries = [v.total for v in verdicts if v.summary]
    assert summaries == list(range(100, 1001, 100))
    assert verdicts[-1].total == 1000


def test_new_peers_do_not_buy_new_full_lines_past_the_reason_budget() -> None:
    budget = LogBudget(first=5, reason_first=20, every=1000)
    full = sum(budget.spend("bad_envelope", f"peer-{i}").full for i in range(10_000))
    assert full == 20
    assert budget.spend("garbage", "peer-x").full  # another reason has its own budget


def test_keys_are_bounded() -> None:
    budget = LogBudget(first=1, reason_first=10**9, every=10**9, max_keys=100)
    for i in range(10_000):
        budget.spend("garbage", f"peer-{i}")
    assert len(budget._keys) == 100


def test_a_bad_budget_is_refused_naming_the_values() -> None:
    with pytest.raises(ValueError, match="every=0"):
        LogBudget(every=0)
