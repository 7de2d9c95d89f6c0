"""The benchmark summary's rows: one per figure (per size when keyed by size), beside its baseline and
Mesos' figure; figures a run did not produce give none."""

from __future__ import annotations

from benchmarks.summary import BENCHMARKS, SPECS, rows, table


def test_rows_expand_sizes_pair_baselines_and_anchor_mesos_figures() -> None:
    results = {"allocator": {"allocation_cycle_s": {"1000x10": 0.01, "10000x1000": 0.55},
                             "allocation_baseline_s": {"1000x10": 0.001, "10000x1000": 0.005},
                             "launch_overhead_s": {"50000": 0.002}, "raw_req_rep_median_s": 0.0001},
               "transport": {"request_response_median_us": 120.0, "raw_req_rep_median_us": 80.0},
               "agent": {"tasks_per_s": 50.0, "baseline": {"bin_true_per_s": 1000.0},
                         "launch_to_running_s": {"median": 0.02}}}
    by_figure = {r.figure: r for r in rows(results)}
    cycle = by_figure["allocator: allocation cycle, s 10000x1000"]
    assert (cycle.ours, cycle.baseline, round(cycle.ratio or 0, 6)) == (0.55, 0.005, 110.0)
    assert cycle.anchor.startswith("1.1 s (Mesos 1.8")
    assert by_figure["allocator: allocation cycle, s 1000x10"].anchor == ""
    assert by_figure["allocator: launch overhead, s, agents 50000"].anchor.startswith("< 1 s")
    assert by_figure["transport: request/response median, us"].ratio == 1.5
    assert by_figure["agent: command tasks/s"].baseline == 1000.0
    no_base = by_figure["agent: launch -> TASK_RUNNING median, s"]
    assert (no_base.ours, no_base.baseline, no_base.ratio) == (0.02, None, None)
    assert not any(f.startswith("http") for f in by_figure)  # not run: no rows
    assert "agent: one task launch -> TASK_RUNNING median, s" not in by_figure  # a key it did not print
    text = table(rows(results))
    assert text.splitlines()[0].startswith("figure") and "1.1 s (Mesos 1.8" in text


def test_every_spec_names_a_benchmark_the_summary_runs() -> None:
    assert {s.benchmark for s in SPECS} == set(BENCHMARKS)


def test_values_that_are_not_numbers_give_no_row() -> None:
    assert rows({"transport": {"remote_send_msg_s": "n/a", "local_send_msg_s": float("nan"),
                               "request_response_median_us": True}}) == []
