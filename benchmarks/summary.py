"""The rows of the benchmark summary: which figure of which benchmark, beside which baseline, with
Mesos' own published figure where there is one (../shared/NOTES.md, "Mesos' own figures").

Pure: ``rows(results)`` turns each benchmark's JSON object into table rows; ``table(rows)`` prints them.
A figure keyed by size (``{"1000": .., "10000": ..}``) gives one row per size; a figure a run did not
produce (a size --quick skips, a key an older benchmark lacks) gives no row.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

__all__ = ["BENCHMARKS", "SPECS", "Row", "Spec", "rows", "table"]

# Every benchmark module, in the order the summary runs them (cheapest first).
BENCHMARKS = ("transport", "allocator", "master_memory", "agent", "http", "http_api", "recovery", "marathon",
              "failover")


class Spec(NamedTuple):
    benchmark: str
    label: str
    ours: str  # a dotted path into the benchmark's JSON object
    baseline: str = ""  # the same, for the raw baseline measured in the same run ("" none)
    anchors: dict[str, str] = {}  # size key ("" for an unsized figure, "*" any size) -> Mesos' figure


class Row(NamedTuple):
    figure: str
    ours: float
    baseline: float | None
    ratio: float | None
    anchor: str


_PAPER = "Mesos paper (NSDI 2011)"
SPECS: tuple[Spec, ...] = (
    Spec("transport", "remote one-way send, msg/s", "remote_send_msg_s", "raw_dealer_router_msg_s"),
    Spec("transport", "request/response median, us", "request_response_median_us", "raw_req_rep_median_us"),
    Spec("transport", "request/response p99, us", "request_response_p99_us", "raw_req_rep_p99_us"),
    Spec("transport", "local send, msg/s", "local_send_msg_s", "raw_pykka_tell_msg_s"),
    Spec("transport", "CURVE remote one-way send, msg/s (baseline: plain)", "encrypted_remote_send_msg_s",
         "remote_send_msg_s"),
    Spec("transport", "CURVE request/response median, us (baseline: plain)", "encrypted_request_response_median_us",
         "request_response_median_us"),
    Spec("allocator", "allocation cycle, s", "allocation_cycle_s", "allocation_baseline_s",
         {"10000x1000": "1.1 s (Mesos 1.8 C++; 6.3 s in 1.6)"}),
    Spec("allocator", "allocator offers/s (pure core)", "allocator_offers_per_s"),
    Spec("allocator", "steady allocation cycle, s", "allocation_steady_cycle_s", "allocation_baseline_s"),
    Spec("allocator", "variant cycle at 10000x1000, s", "allocation_variant_cycle_s", "allocation_variant_baseline_s",
         {"plain": "1.1 s (Mesos 1.8 C++, plain)"}),
    Spec("allocator", "master offers/s, agents", "offers_per_s", "raw_dealer_router_msg_s"),
    Spec("allocator", "launch overhead, s, agents", "launch_overhead_s", "raw_req_rep_median_s",
         {"50000": f"< 1 s at 50,000 emulated agents ({_PAPER})"}),
    Spec("master_memory", "master bytes per idle agent", "master_bytes_per_agent", "raw_agent_info_bytes"),
    Spec("master_memory", "master bytes per running task", "master_bytes_per_task", "raw_task_info_bytes"),
    Spec("agent", "command tasks/s", "tasks_per_s", "baseline.bin_true_per_s"),
    Spec("agent", "launch -> TASK_RUNNING median, s", "launch_to_running_s.median"),
    Spec("agent", "one task launch -> TASK_RUNNING median, s", "one_task_launch_to_running_s"),
    Spec("agent", "custom executor tasks/s", "tasks_per_s_custom"),
    Spec("agent", "CPU per command task, ms (all processes)", "cpu_per_task_ms.total"),
    Spec("http", "/master/state median, ms", "state_latency_ms", "raw_same_size_latency_ms"),
    Spec("http", "launches/s under HTTP load", "launch_per_s_under_http", "launch_per_s_idle"),
    Spec("http", "GETs/s under launches", "gets_per_s_under_launch", "raw_gets_per_s"),
    Spec("http_api", "offers/s, v1 HTTP framework", "offers_per_s_http", "offers_per_s_driver"),
    Spec("http_api", "launch, v1 HTTP framework, ms", "launch_ms_http", "launch_ms_driver"),
    Spec("http_api", "KB per held subscription", "kb_per_framework", "raw_kb_per_stream"),
    Spec("recovery", "agent recovery, s, tasks", "recovery_s", "fresh_start_s"),
    Spec("marathon", "marathon deploy, s, instances", "deploy_s", "driver_deploy_s"),
    Spec("marathon", "marathon replace a killed task, s, instances", "replace_s", "driver_replace_s"),
    Spec("failover", "master failover, s, agents", "failover_s", "raw_session_expiry_s",
         {"*": f"4-8 s ({_PAPER})"}),
    Spec("failover", "agents re-registered, s, agents", "agents_reregistration_s", "registration_s",
         {"10000": "4.5 s, 10,000 agents + 100,000 tasks (Mesos 1.5; 24 s in 1.3)"}),
)


def _get(data: Any, path: str) -> Any:
    for part in path.split(".") if path else ():
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _row(spec: Spec, size: str, ours: Any, baseline: Any) -> Row | None:
    value = _number(ours)
    if value is None:
        return None
    if isinstance(baseline, dict):
        baseline = baseline.get(size)
    base = _number(baseline)
    ratio = value / base if base else None
    anchor = spec.anchors.get(size) or spec.anchors.get("*" if size else "", "")
    return Row(f"{spec.benchmark}: {spec.label}" + (f" {size}" if size else ""), value, base, ratio, anchor)


def rows(results: dict[str, dict[str, Any]]) -> list[Row]:
    """The summary rows of the benchmarks' JSON objects (benchmark name -> its object)."""
    out: list[Row] = []
    for spec in SPECS:
        data = results.get(spec.benchmark)
        if data is None:
            continue
        ours, baseline = _get(data, spec.ours), _get(data, spec.baseline)
        sized = ours.items() if isinstance(ours, dict) else [("", ours)]
        out.extend(r for r in (_row(spec, str(size), v, baseline) for size, v in sized) if r is not None)
    return out


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or 0.01 <= abs(value) < 1e6:
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.3g}"


def table(summary: list[Row]) -> str:
    width = max([len("figure"), *(len(r.figure) for r in summary)])
    head = f"{'figure':{width}} {'ours':>12} {'baseline':>12} {'ratio':>8}  anchor (Mesos)"
    lines = [head, "-" * len(head)]
    for r in summary:
        ratio = "-" if r.ratio is None else f"{r.ratio:.3g}"
        lines.append(f"{r.figure:{width}} {_fmt(r.ours):>12} {_fmt(r.baseline):>12} {ratio:>8}  {r.anchor}")
    lines.append("baseline: the raw floor each benchmark measures in the same run; ratio = ours / baseline")
    return "\n".join(lines)
