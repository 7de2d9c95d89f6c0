"""Every benchmark runs with ``--quick --json``, through the summary (``python -m benchmarks --quick
--json``, as the README shows it): each exits 0 within a time bound, its last line is one JSON object
with its figures' stable keys, and the summary table has its rows. A smoke run: no figure is judged."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from benchmarks.summary import BENCHMARKS
from tests.integration.operators_support import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.bench]

BOUND_S = 180.0  # each quick run takes a few seconds to ~20 s on 2 busy cores

# The top-level keys each benchmark's JSON line must carry (figures keyed by size where sized).
KEYS = {
    "transport": {"raw_dealer_router_msg_s", "remote_send_msg_s", "request_response_median_us",
                  "local_send_msg_s", "remote_send_ratio", "request_response_median_ratio", "local_send_ratio",
                  "encrypted_remote_send_msg_s", "encrypted_request_response_median_us", "encrypted_remote_send_ratio",
                  "encrypted_request_response_median_ratio"},
    "allocator": {"allocation_cycle_s", "allocation_cycle_vs_baseline", "allocator_offers_per_s",
                  "allocation_variant_size", "allocation_variant_cycle_s", "allocation_variant_steady_cycle_s",
                  "allocation_variant_baseline_s",
                  "offers_per_s", "launch_overhead_s", "agent_registration_s", "raw_dealer_router_msg_s"},
    "agent": {"tasks_per_s", "launch_to_running_s", "tasks_per_s_custom", "launch_to_running_s_custom",
              "baseline", "command_vs_python_pass", "one_task_launch_to_running_s", "cpu_per_task_ms"},
    "failover": {"sizes", "session_timeout_s", "raw_session_expiry_s", "registration_s", "election_s",
                 "agents_reregistration_s", "framework_reregistration_s", "failover_s", "failover_vs_raw",
                 "reregistration_vs_registration"},
    "http": {"agents", "tasks", "state_bytes", "state_latency_ms", "raw_same_size_latency_ms", "state_latency_ratio",
             "get_latency_ms_idle", "launch_per_s_idle", "launch_per_s_under_http", "launch_ratio",
             "gets_per_s_under_launch", "raw_gets_per_s", "gets_ratio"},
    "http_api": {"agents", "offers_per_s_http", "offers_per_s_driver", "offers_ratio", "launch_ms_http",
                 "launch_ms_driver", "launch_ratio", "held_frameworks", "subscribe_s", "master_threads_before",
                 "master_threads_held", "kb_per_framework", "raw_kb_per_stream", "memory_ratio"},
    "recovery": {"sizes", "fresh_start_s", "recovery_s", "executor_reconnected_s", "recovery_vs_fresh"},
    "marathon": {"sizes", "deploy_s", "replace_s", "driver_deploy_s", "driver_replace_s", "deploy_ratio",
                 "replace_ratio"},
    "master_memory": {"master_bytes_per_agent", "master_bytes_per_task", "raw_agent_info_bytes",
                      "raw_task_info_bytes", "master_memory_agents", "master_memory_tasks"},
}


def _benchmarks() -> list[str]:
    """The runnable benchmarks: the modules of benchmarks/ that define main() (not the summary's)."""
    names = []
    for entry in sorted(os.listdir(os.path.join(ROOT, "benchmarks"))):
        if entry.endswith(".py") and not entry.startswith("_"):
            with open(os.path.join(ROOT, "benchmarks", entry)) as f:
                if re.search(r"^def main\(", f.read(), re.MULTILINE):
                    names.append(entry[:-3])
    return names


def _readme_commands() -> dict[str, list[str]]:
    """Benchmark name -> the command the README's Benchmarks section gives for it."""
    with open(os.path.join(ROOT, "README.md")) as f:
        section = f.read().split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    commands = {}
    for line in section.splitlines():
        argv = shlex.split(line.split("#", 1)[0])
        if argv[:1] == ["python"]:
            target = argv[2] if argv[1:2] == ["-m"] else argv[1]
            name = target.rsplit(".", 1)[-1] if argv[1:2] == ["-m"] else os.path.basename(target)[:-3]
            commands[name] = [sys.executable, *argv[1:]]
    return commands


def test_every_benchmark_is_in_the_readme_the_summary_and_has_its_keys_listed() -> None:
    found = _benchmarks()
    assert found, "no benchmark found"
    commands = _readme_commands()
    assert commands.pop("benchmarks")[1:] == ["-m", "benchmarks"]  # the summary of them all
    assert sorted(commands) == found
    assert sorted(KEYS) == found
    assert sorted(BENCHMARKS) == found


@pytest.mark.timeout(len(KEYS) * BOUND_S + 60)
def test_summary_quick_run_runs_every_benchmark_and_prints_its_json() -> None:
    argv = [sys.executable, "-m", "benchmarks", "--quick", "--json", "--timeout", str(BOUND_S)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESOPY_")}
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=len(KEYS) * BOUND_S + 30)
    assert result.returncode == 0, f"{' '.join(argv)} exited {result.returncode}; stdout:\n{result.stdout[-3000:]}" \
                                   f"\nstderr:\n{result.stderr[-3000:]}"
    lines = result.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{result.stderr[-3000:]}"
    out = json.loads(lines[-1])
    assert out["failed"] == {}
    for name, keys in KEYS.items():
        missing = keys - set(out["benchmarks"][name])
        assert not missing, f"{name}: keys missing from its JSON line: {sorted(missing)}"
    shown = {row["figure"].split(":", 1)[0] for row in out["summary"]}
    assert shown == set(KEYS), f"benchmarks without a summary row: {sorted(set(KEYS) - shown)}"
    table = "\n".join(lines[:-1])
    assert table.startswith("figure") and all(row["figure"] in table for row in out["summary"])


def test_summary_rejects_an_unknown_benchmark_in_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "transport,nosuch"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unknown benchmark 'nosuch'" in result.stderr
