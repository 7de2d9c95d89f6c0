"""Test a framework against a whole cluster running inside the test process.

``LocalCluster`` starts a master (with its allocator) and ``agents`` agents on
one loopback ZeroMQ node; the agents run real executor OS processes in
sandboxes under ``work_dir``. Give ``cluster.master`` to your driver::

    import threading
    from frameworks import MesosSchedulerDriver, Scheduler
    from frameworks.testing import LocalCluster

    class Echo(Scheduler):
        def __init__(self):
            self.finished = threading.Event()

        def resourceOffers(self, driver, offers):
            offer = offers[0]
            driver.launchTasks(offer["id"], [{
                "name": "echo",
                "task_id": {"value": "echo-1"},
                "agent_id": offer["agent_id"],
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
                ],
                "command": {"value": "echo hello", "shell": True},
            }])

        def statusUpdate(self, driver, status):
            if status["state"] == "TASK_FINISHED":
                self.finished.set()

    def test_echo_finishes():
        with LocalCluster(agents=1, resources="cpus:1;mem:256") as cluster:
            scheduler = Echo()
            driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "echo"}, cluster.master)
            driver.start()
            try:
                assert scheduler.finished.wait(10)
                assert [a["active"] for a in cluster.state()["slaves"]] == [True]
            finally:
                driver.stop()
                driver.join(5)

Arguments: ``agents`` (how many), ``resources`` (a Mesos resource string for
every agent, or a list with one per agent), ``isolation`` (the agents'
--isolation: "posix", "cgroups" or e.g. "cgroups/cpu,cgroups/mem"),
``work_dir`` (default: a temporary directory removed on exit), and
``**flags``: any master or agent flag by its name (``allocation_interval=0.1``,
``agent_ping_timeout=0.2``, ``cgroups_enable_cfs=True``); an unknown name is a
TypeError naming it.

Members: ``.master`` ("127.0.0.1:port"), ``.state()`` (the master's state with the
keys of Mesos' /master/state JSON: ``slaves``, ``frameworks``,
``completed_frameworks``...), ``.agents`` (each agent's pid, by index),
``.http`` (the master's HTTP base URL, ``http://127.0.0.1:port``: /master/state,
/metrics/snapshot...), ``.agent_http(i)`` (agent i's: /slave(N)/state, /files/read...;
``http=False`` serves none), ``.stop_agent(i)`` / ``.start_agent(i)`` (0-based index; a restarted agent has
the same name and work_dir and registers again), ``.agent_work_dir(i)``,
``.wait_for_agents(count=None, timeout=10)``.

``secure=True`` turns every authentication check on (frameworks, agents,
executors' tokens, HTTP Basic on every endpoint) with credentials generated
for the run; ``.security`` then holds them: give a driver
``principal=cluster.security.principal, secret=cluster.security.secret``, and
HTTP requests ``cluster.security.operator`` / ``.operator_secret`` (docs/security.md).

On a manual clock (``clock="manual"``) the cluster's time moves only when the
test calls ``cluster.advance(seconds)``; ``cluster.settle()`` waits until every
actor is idle; ``cluster.drop`` / ``cluster.expect`` / ``cluster.partition``
control messages; ``executor="emulated"`` plays executors without OS
processes, each task ending by ``task_rule``. docs/testing.md has worked
examples.

With ``masters=3, zk=...`` (a ``zk://`` URL or a running ``ZooKeeperServer``)
the cluster runs three masters in this process, each on its own port, electing
a leader through ZooKeeper; ``.master`` is then the ``zk://`` URL, so drivers
and agents follow whichever master leads. ``.leader()`` is the leading
master's index, ``.stop_master(i)`` / ``.start_master(i)`` stop one (a standby
takes over if it led) and start it again; ``.state()`` and ``.http`` are the
leader's. ``zk`` needs the real clock.

``ZooKeeperServer(servers=1)`` starts a private ZooKeeper (an ensemble when
``servers`` > 1) from Debian's ``zookeeper`` package on free loopback ports,
its data under a temporary directory; a context manager. ``.url("/mesos")``
is the ``zk://`` URL for ``--zk`` and ``--master``; ``.stop_server(i)`` /
``.start_server(i)`` kill -9 and restart one server, ``.restart()`` all.

``Topology(["master", "agent1"])`` (frameworks.netns) makes test hosts in network
namespaces, each with its own address, for partitions through a real cut link:
``.popen(host, argv)`` runs a process there, ``.cut(host)`` / ``.heal(host)``
take its link down and up; root only (``frameworks.netns.unavailable()`` says why not).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any, Self

from actors.agent.emulated import TaskRule
from actors.clock import Clock, ManualClock
from actors.filters import MessageFilter
from actors.ha.zk_server import ZooKeeperServer
from actors.local import DEFAULT_AGENT_RESOURCES, LocalClusterRunner, find_sandbox_file
from actors.local_masters import LocalMasters
from frameworks.netns import Topology
from frameworks.scheduler_driver import MesosSchedulerDriver
from transport.codec import Envelope
from transport.errors import PIDError, SchemaError
from transport.pid import PID
from transport.schema import Message, message_type

__all__ = ["DEFAULT_AGENT_RESOURCES", "LocalCluster", "TaskRule", "Topology", "ZooKeeperServer", "find_sandbox_file"]

Endpoint = PID | str | int | MesosSchedulerDriver | None


class LocalCluster(LocalClusterRunner):
    """A master, its allocator and ``agents`` agents in this process (see the module's docs).

    Entering the context starts them and waits until every agent has
    registered with the master (RuntimeError after ``start_timeout`` s).
    ``clock``: "real" or "manual"; ``executor``: "real" or "emulated";
    ``task_rule``: how emulated tasks end (a TaskRule, seconds, None for
    "until killed", a list of states, or a callable of the task dict);
    ``seed``: seeds Python's ``random`` (the agents' registration jitter).
    ``masters`` and ``zk``: several masters electing through ZooKeeper.
    """

    def __init__(
        self,
        agents: int = 1,
        resources: str | Sequence[str] = DEFAULT_AGENT_RESOURCES,
        isolation: str = "posix",
        work_dir: str | None = None,
        *,
        start_timeout: float = 10.0,
        clock: str | Clock = "real",
        executor: str = "real",
        task_rule: Any = 0.0,
        seed: int | None = None,
        masters: int = 1,
        zk: Any = None,
        **flags: Any,
    ) -> None:
        super().__init__(agents, resources, isolation, work_dir, clock=clock, executor=executor,
                         task_rule=task_rule, masters=masters, zk=zk, **flags)
        self.start_timeout = start_timeout
        self.seed = seed
        self._filters: list[MessageFilter] = []
        self._partitions: dict[int, list[MessageFilter]] = {}

    def start(self) -> Self:
        if self.seed is not None:
            random.seed(self.seed)
        super().start()
        if not self.wait_for_agents(timeout=self.start_timeout):
            registered = self.registered_agents()
            self.stop()
            raise RuntimeError(
                f"only {registered} of {len(self.agents)} agents registered within {self.start_timeout} s"
            )
        return self

    def stop(self) -> None:
        for f in self._filters:
            f.remove()
        self._filters.clear()
        self._partitions.clear()
        super().stop()

    def __enter__(self) -> Self:
        return self.start()

    # --- masters (with zk) ---------------------------------------------------------

    def leader(self, timeout: float = 0.0) -> int:
        """The index of the leading master (0-based), waiting up to ``timeout`` s for one to lead."""
        return self._ha("leader()").leader(timeout)

    def stop_master(self, index: int) -> None:
        """Stop master ``index``; when it led, a standby is elected and everyone follows it."""
        self._ha("stop_master()").stop_master(index)

    def start_master(self, index: int) -> None:
        """Start master ``index`` again, as a standby on a new port."""
        self._ha("start_master()").start_master(index)

    def _ha(self, what: str) -> LocalMasters:
        if self.masters is None:
            raise RuntimeError(f"{what} needs LocalCluster(masters=..., zk=...)")
        return self.masters

    # --- drivers and time -------------------------------------------------------

    def driver(self, scheduler: Any, framework_info: dict[str, Any], **kwargs: Any) -> MesosSchedulerDriver:
        """A scheduler driver for this cluster's master, on the cluster's node and clock (not started)."""
        return MesosSchedulerDriver(scheduler, framework_info, self.master, node=self.node, **kwargs)

    def _manual(self, what: str) -> ManualClock:
        clock = self.node.clock
        if not isinstance(clock, ManualClock) or clock.activity is None:
            raise RuntimeError(f"{what} needs LocalCluster(clock='manual'); this cluster runs on {type(clock).__name__}")
        return clock

    def now(self) -> float:
        """The cluster's time in seconds (on a manual clock: 0 at creation plus every advance)."""
        return self.node.clock.now()

    def advance(self, seconds: float, *, timeout: float = 10.0) -> None:
        """Move the manual clock ``seconds`` forward: every timer due fires, in time order, each
        once the cluster is idle; returns settled. SettleTimeout if a step is still busy after
        ``timeout`` s of wall time."""
        self._manual("advance()").advance(seconds, settle_timeout=timeout)

    def settle(self, timeout: float = 10.0) -> None:
        """Return once no actor of the cluster has a message queued or is handling one, and no
        timer is due (SettleTimeout after ``timeout`` s of wall time, naming the busy actors)."""
        self._manual("settle()").settle(timeout)

    # --- messages ------------------------------------------------------------------

    def drop(self, message_type: str | type[Message], from_: Endpoint = None, to: Endpoint = None,
             count: int | None = None) -> MessageFilter:
        """Drop messages of ``message_type`` (``"StatusUpdateAcknowledgement"`` or the class) sent
        ``from_`` / ``to`` (a pid, pid text, a process name such as "master" or "agent(1)", a family
        of names such as "agent" or "scheduler", an agent index, or a driver); ``count`` of them,
        or all until ``.remove()``."""
        return self._filter(message_type, from_, to, drop=True, count=count)

    def expect(self, message_type: str | type[Message], from_: Endpoint = None, to: Endpoint = None,
               drop: bool = False) -> Future[Envelope]:
        """A future of the next such message's envelope (``.message``, ``.sender``, ``.receiver``);
        with ``drop`` that message is also not delivered."""
        return self._filter(message_type, from_, to, drop=drop, count=1).future

    def partition(self, agent_index: int) -> None:
        """Cut every message between the master and agent ``agent_index`` (both ways) until ``heal``."""
        self._agent_check(agent_index)
        if agent_index in self._partitions:
            return
        agent = self.node.pid(self.agent_name(agent_index))
        self._partitions[agent_index] = [
            self._install(MessageFilter(None, sender=a, receiver=b, address=self.node.address))
            for a, b in ((self.master_pid, agent), (agent, self.master_pid))]

    def heal(self, agent_index: int) -> None:
        """Let messages between the master and agent ``agent_index`` through again."""
        self._agent_check(agent_index)
        for f in self._partitions.pop(agent_index, []):
            f.remove()
            self._filters.remove(f)

    def _filter(self, type_or_name: str | type[Message], from_: Endpoint, to: Endpoint, *, drop: bool,
                count: int | None) -> MessageFilter:
        kind = _message_class(type_or_name)
        return self._install(MessageFilter(kind, sender=self._pid(from_, "from_"), receiver=self._pid(to, "to"),
                                           drop=drop, count=count, address=self.node.address))

    def _install(self, f: MessageFilter) -> MessageFilter:
        self._filters = [each for each in self._filters if not each.retired]
        self._filters.append(f)
        return f.install()

    def _agent_check(self, index: int) -> None:
        if not isinstance(index, int) or not 0 <= index < len(self.agents):
            raise ValueError(f"agent index must be 0..{len(self.agents) - 1}, got {index!r}")

    def _pid(self, who: Endpoint, what: str) -> PID | str | None:
        if who is None or isinstance(who, PID):
            return who
        if isinstance(who, MesosSchedulerDriver):
            if who.pid is None:
                raise ValueError(f"{what}: the driver is not started, so it has no pid yet")
            return who.pid
        if isinstance(who, bool) or not isinstance(who, (int, str)):
            raise ValueError(f"{what} must be a pid, a process name, an agent index or a driver, got {who!r}")
        if isinstance(who, int):
            self._agent_check(who)
            return self.node.pid(self.agent_name(who))
        if "@" not in who:
            if not who.strip():
                raise ValueError(f"{what} must name a process, got {who!r}")
            return who  # a process name, or a family of them: "agent" matches agent(1), agent(2)...
        try:
            return PID.parse(who)
        except PIDError as e:
            raise ValueError(f"{what}: {e}") from None


def _message_class(type_or_name: str | type[Message]) -> type[Message]:
    if isinstance(type_or_name, type) and issubclass(type_or_name, Message):
        return type_or_name
    if isinstance(type_or_name, str):
        try:
            return message_type(type_or_name)
        except SchemaError:
            raise ValueError(f"unknown message type {type_or_name!r} (a name such as 'StatusUpdate')") from None
    raise ValueError(f"message type must be a name or a Message class, got {type_or_name!r}")
