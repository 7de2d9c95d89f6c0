"""Master failover: kill -9 of the leading master until every agent and the framework re-registered
with its successor, beside raw ZooKeeper's own floor.

    python benchmarks/failover.py [--json] [--quick] [--agents 100,1000,10000]

Topology: a private ZooKeeper server (Debian's package, frameworks.testing.ZooKeeperServer);
two ``mesopy-master`` OS processes electing under a fresh path per size, with
``--zk_session_timeout`` (2 s); in this process the agent emulator (one actor
registered as N agents, benchmarks/master_emulation.py) and a MesosSchedulerDriver
following the ``zk://`` URL, on two Nodes. The emulated agents follow the election
as real agents do: a leader change makes each re-register with its agent id.

Per size N (100, 1,000, 10,000; --quick: 100, 1,000):

- ``registration_s``: N agents registering with the first leader (the registry written in ZooKeeper);
- ``election_s``: kill -9 of the leader -> the election names the standby (the killed
  session expires);
- ``agents_reregistration_s``: from then until every agent got AgentReregistered;
- ``framework_reregistration_s``: from then until the framework's ``reregistered``;
- ``failover_s``: kill -9 -> the last of those.

Raw baseline (same run, same session timeout): kill -9 of a bare kazoo client holding an
ephemeral znode -> a watcher hears the znode deleted (``raw_session_expiry_s``);
``failover_vs_raw`` = failover_s / raw_session_expiry_s, and ``reregistration_vs_registration``
compares re-registering the N agents with registering them.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # benchmarks/transport.py must not shadow the transport package
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [os.path.dirname(_here)] + [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from actors.ha import Leader, LeaderDetector  # noqa: E402
from actors.ha.zk_server import free_ports  # noqa: E402
from actors.node import Node  # noqa: E402
from actors.process import Process  # noqa: E402
from benchmarks.master_emulation import AgentEmulator, EmulatorRecords  # noqa: E402
from frameworks import MesosSchedulerDriver, Scheduler  # noqa: E402
from frameworks.testing import ZooKeeperServer  # noqa: E402
from transport.codec import Envelope  # noqa: E402
from transport.messages import AgentReregistered, MasterRedirect, MasterState, MasterStateRequest, ReregisterAgent  # noqa: E402
from transport.pid import PID  # noqa: E402

__all__ = ["KEYS", "measure", "raw_session_expiry", "table"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SESSION_S = 2.0
SIZES, QUICK_SIZES = [100, 1_000, 10_000], [100, 1_000]
KEYS = ["sizes", "session_timeout_s", "raw_session_expiry_s", "registration_s", "election_s",
        "agents_reregistration_s", "framework_reregistration_s", "failover_s", "failover_vs_raw",
        "reregistration_vs_registration"]


def raw_session_expiry(zk: ZooKeeperServer, session: float) -> float:
    """kill -9 of a bare kazoo client -> its ephemeral znode's watcher fires (seconds)."""
    from actors.ha.probe import DeletionWatch

    path = f"/raw-probe-{os.getpid()}-{time.monotonic_ns()}"
    holder = subprocess.Popen([sys.executable, "-m", "actors.ha.probe", zk.hosts, path, str(session)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "ready":
            raise RuntimeError("the raw ZooKeeper probe did not start")
        watch = DeletionWatch(zk.hosts, path)
        try:
            t0 = time.perf_counter()
            holder.send_signal(signal.SIGKILL)
            if not watch.gone.wait(session * 5 + 10):
                raise RuntimeError("the killed probe's ephemeral znode was never deleted")
            return watch.gone_at - t0
        finally:
            watch.close()
    finally:
        holder.kill()
        holder.wait()


class FollowingEmulator(AgentEmulator):
    """The emulator whose agents re-register (with their ids) when ``follow(leader)`` names a new one,
    retrying after a redirect (the new leader may not know yet that it leads)."""

    def __init__(self, node: Node, master: PID, records: EmulatorRecords, holder: list[FollowingEmulator]) -> None:
        super().__init__(node, master, records)
        self.reregistered: set[str] = set()
        self.all_reregistered = threading.Event()
        holder.append(self)

    def follow(self, leader: PID) -> None:
        self.master = leader
        self.reregistered.clear()
        for name in self.names:
            self._reregister(name)

    def _reregister(self, name: str) -> None:
        pid = self.node.pid(name)
        info = {"id": {"value": self.records.agent_ids[name]}, "hostname": f"emu-{name}.bench",
                "port": self.node.port, "resources": self.resources, "attributes": [], "pid": str(pid)}
        self.node.route(pid, self.master, ReregisterAgent(agent=info))

    def _handle(self, env: Envelope) -> None:
        msg = env.message
        if isinstance(msg, AgentReregistered):
            self.reregistered.add(env.receiver.name)
            if len(self.reregistered) == len(self.names):
                self.all_reregistered.set()
        elif isinstance(msg, MasterRedirect):
            self.delay(0.05, self._reregister, env.receiver.name)
        else:
            super()._handle(env)


class _Asker(Process):
    def __init__(self, node: Node, holder: list[_Asker]) -> None:
        super().__init__(node, "failover-bench")
        holder.append(self)


class Follower(Scheduler):
    def __init__(self) -> None:
        self.registered_ev = threading.Event()
        self.reregistered_ev = threading.Event()
        self.reregistered_at = 0.0

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        self.registered_ev.set()

    def reregistered(self, driver: Any, master_info: Any) -> None:
        self.reregistered_at = time.perf_counter()
        self.reregistered_ev.set()

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        driver.declineOffer([o["id"] for o in offers], {"refuse_seconds": 3600.0})


def _master(url: str, session: float, log_dir: str) -> tuple[subprocess.Popen[bytes], PID]:
    """A ``mesopy-master`` OS process (its stderr in ``log_dir``/master-PORT.log)."""
    (port,) = free_ports(1)
    argv = [sys.executable, os.path.join(ROOT, "bin", "mesopy-master"), f"--port={port}", "--ip=127.0.0.1",
            f"--zk={url}", f"--zk_session_timeout={session}", "--no-http", "--log_level=warning"]
    with open(os.path.join(log_dir, f"master-{port}.log"), "wb") as log:
        return subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True), PID("master", "127.0.0.1", port)


def _wait(event: threading.Event, timeout: float, what: str) -> None:
    if not event.wait(timeout):
        raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def one_size(zk: ZooKeeperServer, agents: int, session: float) -> dict[str, float]:
    url = zk.url(f"/bench-{agents}-{time.monotonic_ns()}")
    timeout = max(60.0, agents / 100)
    leaders: list[tuple[float, Leader | None]] = []
    changed = threading.Condition()

    def on_change(leader: Leader | None) -> None:
        with changed:
            leaders.append((time.perf_counter(), leader))
            changed.notify_all()

    def next_leader(other_than: str) -> tuple[float, PID]:
        with changed:
            if not changed.wait_for(lambda: any(lead and lead.pid != other_than for _, lead in leaders), timeout):
                raise RuntimeError("no (new) leader elected")
            at, lead = next((at, lead) for at, lead in leaders if lead and lead.pid != other_than)
            assert lead is not None
            leaders.clear()
            return at, PID.parse(lead.pid)

    detector = LeaderDetector(url, on_change, session_timeout=10.0).start()
    procs = []
    node = Node().start()
    fw_node = Node().start()
    driver = None
    try:
        first, _ = _master(url, session, zk.dir)
        procs.append(first)
        _, leader = next_leader("")
        standby, standby_pid = _master(url, session, zk.dir)
        procs.append(standby)
        holder: list[_Asker] = []
        _Asker.spawn(node, holder)
        deadline = time.monotonic() + timeout
        while True:  # the standby has joined once it knows who leads
            try:
                state = holder[0].request(standby_pid, MasterStateRequest(), timeout=2.0).result(3.0)
                if isinstance(state, MasterState) and state.state.get("leader") == str(leader):
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the standby master never joined the election")
            time.sleep(0.05)  # polling another process' readiness
        records = EmulatorRecords(agents)
        t0 = time.perf_counter()
        emulators: list[FollowingEmulator] = []
        FollowingEmulator.spawn(node, leader, records, emulators)
        _wait(records.registered, timeout, f"{agents} agents registered")
        registration = time.perf_counter() - t0
        emulator = emulators[0]
        sched = Follower()
        driver = MesosSchedulerDriver(sched, {"user": "bench", "name": "failover", "failover_timeout": 600.0},
                                      url, node=fw_node)
        driver.start()
        _wait(sched.registered_ev, timeout, "the framework registered")
        killed = time.perf_counter()
        os.killpg(first.pid, signal.SIGKILL)
        elected_at, new_leader = next_leader(str(leader))
        assert new_leader == standby_pid, f"{new_leader} leads, not the standby {standby_pid}"
        emulator.run(emulator.follow, new_leader)
        _wait(emulator.all_reregistered, timeout, f"{agents} agents re-registered")
        agents_done = time.perf_counter()
        _wait(sched.reregistered_ev, timeout, "the framework re-registered")
        return {"registration_s": registration, "election_s": elected_at - killed,
                "agents_reregistration_s": agents_done - elected_at,
                "framework_reregistration_s": sched.reregistered_at - elected_at,
                "failover_s": max(agents_done, sched.reregistered_at) - killed}
    finally:
        if driver is not None:
            driver.stop()
            driver.join(5)
        detector.stop()
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        fw_node.stop()
        node.stop()


def measure(quick: bool, sizes: list[int] | None = None, session: float = SESSION_S) -> dict[str, Any]:
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    fig: dict[str, Any] = {"sizes": sizes, "session_timeout_s": session}
    with ZooKeeperServer() as zk:
        fig["raw_session_expiry_s"] = raw_session_expiry(zk, session)
        for n in sizes:
            for key, value in one_size(zk, n, session).items():
                fig.setdefault(key, {})[str(n)] = value
    fig["failover_vs_raw"] = {k: v / fig["raw_session_expiry_s"] for k, v in fig["failover_s"].items()}
    fig["reregistration_vs_registration"] = {k: v / fig["registration_s"][k]
                                             for k, v in fig["agents_reregistration_s"].items()}
    return fig


def table(fig: dict[str, Any]) -> str:
    head = (f"{'agents':>7} {'register s':>10} {'election s':>10} {'agents re-reg s':>15} {'fw re-reg s':>11} "
            f"{'failover s':>10} {'vs raw':>7} {'re-reg/reg':>10}")
    lines = [f"master failover (kill -9 of the leader; --zk_session_timeout={fig['session_timeout_s']}s, "
             "2 masters, emulated agents, one framework)", head, "-" * len(head)]
    for key in fig["failover_s"]:
        lines.append(f"{key:>7} {fig['registration_s'][key]:>10.3f} {fig['election_s'][key]:>10.3f} "
                     f"{fig['agents_reregistration_s'][key]:>15.3f} {fig['framework_reregistration_s'][key]:>11.3f} "
                     f"{fig['failover_s'][key]:>10.3f} {fig['failover_vs_raw'][key]:>7.2f} "
                     f"{fig['reregistration_vs_registration'][key]:>10.2f}")
    lines.append(f"raw baseline (same run): kill -9 of a bare kazoo client -> its ephemeral znode's watcher "
                 f"fires: {fig['raw_session_expiry_s']:.3f} s")
    lines.append("anchors: Mesos 1.5, 10,000 agents with 100,000 tasks re-registered in 4.5 s after a new leader; "
                 "the Mesos paper: 4-8 s mean time to recovery")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON line of every figure")
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 agents")
    parser.add_argument("--agents", default="", help="comma-separated sizes, e.g. 100,1000,10000")
    args = parser.parse_args(argv)
    from actors.logs import configure_logging

    configure_logging(level="warning")
    try:
        sizes = [int(x) for x in args.agents.split(",") if x.strip()] or None
    except ValueError:
        parser.error(f"--agents: bad size list {args.agents!r}")
    fig = measure(args.quick, sizes)
    print(table(fig), flush=True)
    if args.json:
        print(json.dumps({k: fig[k] for k in KEYS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
