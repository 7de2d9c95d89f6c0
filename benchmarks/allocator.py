"""Allocator benchmark: one allocation cycle of the pure core at scale.

Run ``python benchmarks/allocator.py [--json] [--quick]``.

For each size (agents x frameworks: 1,000 x 10, 10,000 x 100, 10,000 x 1,000, the
size Mesos 1.8 measures at 1.1 s in C++, and 50,000 x 200; every agent ``cpus:16;mem:65536;
disk:1000000;ports:[31000-32000]``, frameworks spread over 10 roles):

- first cycle: everything is available; time of ``allocate(now)`` and offers
  per second (offers produced / cycle time);
- steady cycle: every framework declines everything (``recover_resources``
  with refuse_seconds=0, timed apart) and the cycle runs again;
- empty cycle: nothing is available (should cost next to nothing);
- baseline, measured in the same run: a naive Python loop doing the least
  work per agent (each agent to a round-robin framework with a dict insert).
  The ratio is cycle / baseline.

Each figure is the best of ``repeats`` runs (1 with --quick, which also
drops the sizes of 10 million agent-framework pairs and more). ``allocation_figures(sizes, quick)`` returns the
figures.

Then the variants at 10,000 agents x 1,000 frameworks (the size Mesos 1.8
measures at 1.1 s in C++; --quick: 1,000 x 100), first and steady cycle each,
beside the baseline loop at that size (``variant_figures``):

- ``plain``: as above;
- ``multirole``: half the frameworks in two roles each (one offer per role);
- ``quota``: every one of the 10 roles with a guarantee of 5 % and a limit of
  10 % of the cluster's cpus and mem (the run checks no role passes its limit);
- ``reserved``: 10 % of every agent's cpus, mem and disk reserved to one role.

Then the master part (``benchmarks/master_emulation.py``): the master and its
allocator in a child OS process, N agents emulated by one actor and a real
MesosSchedulerDriver in this process on separate ZeroMQ endpoints; offers per
second to the framework and task launch overhead (launchTasks -> RunTask at
the agent) at 1,000, 10,000 and 50,000 agents (--quick: without 50,000),
beside a raw msgpack + pyzmq baseline measured in the same run.

With --json the last line is one JSON object: allocation_cycle_s (keyed
"AGENTSxFRAMEWORKS"), allocation_variant_cycle_s and
allocation_variant_steady_cycle_s (keyed by variant), allocation_variant_size,
allocation_variant_baseline_s, offers_per_s and launch_overhead_s (keyed by
the number of emulated agents), and every other figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from actors.allocator import AllocatorCore
from actors.resources import Resources
from benchmarks.master_emulation import master_figures, master_table

__all__ = ["SIZES", "VARIANTS", "allocation_figures", "main", "variant_figures"]

SIZES: list[tuple[int, int]] = [(1_000, 10), (10_000, 100), (10_000, 1_000), (50_000, 200)]
AGENT_RESOURCES = "cpus:16;mem:65536;disk:1000000;ports:[31000-32000]"
ROLES = 10


def _key(agents: int, frameworks: int) -> str:
    return f"{agents}x{frameworks}"


def _build(agents: int, frameworks: int) -> AllocatorCore:
    al = AllocatorCore(seed=1)
    for f in range(frameworks):
        al.add_framework(f"fw-{f}", [f"role-{f % ROLES}"])
    total = Resources.parse(AGENT_RESOURCES)
    for a in range(agents):
        al.add_agent(f"agent-{a}", total)
    return al


def _timed(fn: Any, *args: Any) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def _baseline(agents: int, frameworks: int) -> float:
    """The naive loop: each agent to a round-robin framework, one dict insert."""
    agent_ids = [f"agent-{a}" for a in range(agents)]
    fw_ids = [f"fw-{f}" for f in range(frameworks)]
    res = Resources.parse(AGENT_RESOURCES)

    def loop() -> dict[str, dict[str, Resources]]:
        out: dict[str, dict[str, Resources]] = {fid: {} for fid in fw_ids}
        n = len(fw_ids)
        for i, aid in enumerate(agent_ids):
            out[fw_ids[i % n]][aid] = res
        return out

    return _timed(loop)[0]


def _decline_all(al: AllocatorCore, offers: dict[str, dict[str, Resources]], now: float) -> None:
    for fid, per_agent in offers.items():
        for aid, res in per_agent.items():
            al.recover_resources(fid, aid, res, refuse_seconds=0.0, now=now)


def _one_run(agents: int, frameworks: int) -> dict[str, float]:
    al = _build(agents, frameworks)
    first_s, offers = _timed(al.allocate, 0.0)
    n_offers = sum(len(v) for v in offers.values())
    if n_offers != agents:
        raise RuntimeError(f"expected {agents} offers, got {n_offers}")
    empty_s, none = _timed(al.allocate, 0.5)
    if none:
        raise RuntimeError(f"expected an empty cycle, got offers to {len(none)} frameworks")
    recover_s, _ = _timed(_decline_all, al, offers, 1.0)
    steady_s, again = _timed(al.allocate, 1.0)
    if sum(len(v) for v in again.values()) != agents:
        raise RuntimeError("steady cycle did not offer every agent again")
    return {"first_s": first_s, "offers": float(n_offers), "empty_s": empty_s,
            "recover_s": recover_s, "steady_s": steady_s}


def allocation_figures(sizes: list[tuple[int, int]] | None = None, quick: bool = False) -> dict[str, Any]:
    """Run the allocator figures; returns a JSON-able dict keyed like
    ``{"allocation_cycle_s": {"1000x10": ...}, "allocator_offers_per_s": {...}, ...}``."""
    sizes = list(SIZES if sizes is None else sizes)
    if quick:
        sizes = [s for s in sizes if s[0] * s[1] < 10_000_000] or sizes[:1]
    repeats = 1 if quick else 3
    figs: dict[str, dict[str, float]] = {k: {} for k in (
        "allocation_cycle_s", "allocator_offers_per_s", "allocation_steady_cycle_s", "allocation_empty_cycle_s",
        "allocation_recover_all_s", "allocation_baseline_s", "allocation_cycle_vs_baseline")}
    for agents, frameworks in sizes:
        key = _key(agents, frameworks)
        runs = [_one_run(agents, frameworks) for _ in range(repeats)]
        base = min(_baseline(agents, frameworks) for _ in range(repeats))
        first = min(r["first_s"] for r in runs)
        figs["allocation_cycle_s"][key] = first
        figs["allocator_offers_per_s"][key] = runs[0]["offers"] / first
        figs["allocation_steady_cycle_s"][key] = min(r["steady_s"] for r in runs)
        figs["allocation_empty_cycle_s"][key] = min(r["empty_s"] for r in runs)
        figs["allocation_recover_all_s"][key] = min(r["recover_s"] for r in runs)
        figs["allocation_baseline_s"][key] = base
        figs["allocation_cycle_vs_baseline"][key] = first / base
    return figs


VARIANT_SIZE, QUICK_VARIANT_SIZE = (10_000, 1_000), (1_000, 100)
VARIANTS = ("plain", "multirole", "quota", "reserved")


def _build_variant(variant: str, agents: int, frameworks: int) -> AllocatorCore:
    al = AllocatorCore(seed=1)
    for f in range(frameworks):
        roles = [f"role-{f % ROLES}"]
        if variant == "multirole" and f % 2:
            roles.append(f"role-{(f + 1) % ROLES}")
        al.add_framework(f"fw-{f}", roles)
    total = Resources.parse(AGENT_RESOURCES)
    if variant == "quota":
        cpus, mem = total.scalar("cpus") * agents, total.scalar("mem") * agents
        for r in range(ROLES):
            al.set_quota(f"role-{r}", guarantees={"cpus": cpus * 0.05, "mem": mem * 0.05},
                         limits={"cpus": cpus * 0.1, "mem": mem * 0.1})
    for a in range(agents):
        res = total
        if variant == "reserved":
            res = Resources.parse(f"cpus:14.4;mem:58982.4;disk:900000;ports:[31000-32000];"
                                  f"cpus(role-{a % ROLES}):1.6;mem(role-{a % ROLES}):6553.6;"
                                  f"disk(role-{a % ROLES}):100000")
        al.add_agent(f"agent-{a}", res)
    return al


def _check_quota(al: AllocatorCore) -> None:
    for role, quota in al.quotas().items():
        cycle = al.quota_cycle()
        for name, limit in quota.limits.items():
            used = cycle.consumed[role].get(name, 0.0)
            if used > limit + 1e-6:
                raise RuntimeError(f"role {role} holds {name}:{used} over its limit {limit}")


def _variant_run(variant: str, agents: int, frameworks: int) -> tuple[float, float]:
    al = _build_variant(variant, agents, frameworks)
    first_s, offers = _timed(al.allocate_roles, 0.0)
    if not offers:
        raise RuntimeError(f"variant {variant}: no offers")
    if variant == "quota":
        _check_quota(al)

    def decline_all() -> None:
        for fid, per_agent in offers.items():
            for aid, per_role in per_agent.items():
                for role, res in per_role.items():
                    al.recover_resources(fid, aid, res, refuse_seconds=0.0, now=1.0, role=role)

    decline_all()
    steady_s, _ = _timed(al.allocate_roles, 1.0)
    return first_s, steady_s


def variant_figures(quick: bool = False) -> dict[str, Any]:
    """The variants' figures (see the module docstring), JSON-able."""
    agents, frameworks = QUICK_VARIANT_SIZE if quick else VARIANT_SIZE
    repeats = 1 if quick else 2
    first: dict[str, float] = {}
    steady: dict[str, float] = {}
    for variant in VARIANTS:
        runs = [_variant_run(variant, agents, frameworks) for _ in range(repeats)]
        first[variant] = min(r[0] for r in runs)
        steady[variant] = min(r[1] for r in runs)
    return {"allocation_variant_size": _key(agents, frameworks), "allocation_variant_cycle_s": first,
            "allocation_variant_steady_cycle_s": steady,
            "allocation_variant_baseline_s": min(_baseline(agents, frameworks) for _ in range(repeats))}


def _variant_table(figs: dict[str, Any]) -> str:
    head = f"{'variant':>10} {'cycle s':>9} {'steady s':>9} {'vs baseline':>12}"
    base = figs["allocation_variant_baseline_s"]
    lines = [f"allocator variants at {figs['allocation_variant_size']} (best of runs)", head, "-" * len(head)]
    for v in figs["allocation_variant_cycle_s"]:
        cycle = figs["allocation_variant_cycle_s"][v]
        lines.append(f"{v:>10} {cycle:>9.3f} {figs['allocation_variant_steady_cycle_s'][v]:>9.3f} "
                     f"{cycle / base:>11.0f}x")
    lines.append(f"baseline (the naive loop at that size): {base:.5f} s")
    return "\n".join(lines)


def _table(figs: dict[str, Any]) -> str:
    head = (f"{'agents x fws':>13} {'cycle s':>9} {'offers/s':>10} {'steady s':>9} {'recover s':>10} "
            f"{'empty us':>9} {'baseline s':>11} {'ratio':>7}")
    lines = ["allocator: one allocation cycle of the pure core (best of runs)", head, "-" * len(head)]
    for key in figs["allocation_cycle_s"]:
        lines.append(
            f"{key:>13} {figs['allocation_cycle_s'][key]:>9.4f} {figs['allocator_offers_per_s'][key]:>10.0f} "
            f"{figs['allocation_steady_cycle_s'][key]:>9.4f} {figs['allocation_recover_all_s'][key]:>10.4f} "
            f"{figs['allocation_empty_cycle_s'][key] * 1e6:>9.1f} {figs['allocation_baseline_s'][key]:>11.5f} "
            f"{figs['allocation_cycle_vs_baseline'][key]:>6.1f}x")
    lines.append("baseline: naive loop giving each agent to a round-robin framework (one dict insert); "
                 "ratio = cycle / baseline")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--quick", action="store_true", help="one run each, without the largest sizes")
    parser.add_argument("--agents", default="", help="emulated agent counts for the master part, e.g. 1000,10000")
    parser.add_argument("--no-master", action="store_true", help="only the pure allocator part")
    args = parser.parse_args(argv)
    from actors.logs import configure_logging

    configure_logging(level="warning")
    figs = allocation_figures(SIZES, args.quick)
    print(_table(figs), flush=True)
    variants = variant_figures(args.quick)
    print(_variant_table(variants), flush=True)
    figs.update(variants)
    if not args.no_master:
        counts = [int(x) for x in args.agents.split(",") if x.strip()] if args.agents else None
        master = master_figures(counts, args.quick)
        print(master_table(master), flush=True)
        figs.update(master)
    if args.json:
        print(json.dumps(figs, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
