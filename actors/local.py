"""A whole cluster in one OS process: one node on loopback, a master (with its
allocator) and N agents, each agent with its own work_dir. Used by
``frameworks.testing.LocalCluster`` and by ``mesopy-local``.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from typing import Any, Self

import pykka
import structlog

from actors.agent.config import AgentConfig
from actors.clock import Clock, ManualClock
from actors.local_client import ClusterClient, cluster_credential, spawn_cluster_client
from actors.local_flags import split_flags
from actors.local_masters import LocalMasters, zk_url_of
from actors.master.config import MasterConfig
from actors.node import Node
from actors.quiescence import Activity
from actors.security.local import secure_setup
from transport.http import HttpServer
from transport.pid import PID

__all__ = ["DEFAULT_AGENT_RESOURCES", "EXECUTOR_MODES", "LocalClusterRunner", "find_sandbox_file", "make_clock",
           "split_flags"]

EXECUTOR_MODES = ("real", "emulated")

DEFAULT_AGENT_RESOURCES = "cpus:2;mem:1024;disk:1024;ports:[31000-32000]"
_ISOLATION_ALIASES = {"cgroups": "cgroups/cpu,cgroups/mem", "posix": "posix/cpu,posix/mem"}

log = structlog.get_logger(__name__)


def find_sandbox_file(work_dir: str, framework_id: str, executor_id: str, name: str = "stdout") -> str | None:
    """The newest ``name`` file of an executor's runs under an agent's (or cluster's) work_dir."""
    tail = os.path.join("frameworks", glob.escape(framework_id), "executors", glob.escape(executor_id), "runs", "*", name)
    root = glob.escape(work_dir)
    patterns = [os.path.join(root, "slaves", "*", tail), os.path.join(root, "*", "slaves", "*", tail)]
    found = [path for pattern in patterns for path in glob.glob(pattern)
             if os.path.basename(os.path.dirname(path)) != "latest"]  # runs/latest: an alias of the newest run
    return max(found, key=os.path.getmtime) if found else None


def make_clock(clock: str | Clock) -> Clock | None:
    """``"real"`` -> None (the node makes its RealClock), ``"manual"`` -> a ManualClock whose
    activity every actor of the node reports to, a Clock -> itself; ValueError otherwise."""
    if isinstance(clock, Clock):
        return clock
    if clock == "real":
        return None
    if clock == "manual":
        return ManualClock(activity=Activity())
    raise ValueError(f"clock must be 'real', 'manual' or a Clock, got {clock!r}")


class LocalClusterRunner:
    """Master, allocator and ``agents`` agents on one node (127.0.0.1, ``port`` or any free port).

    ``resources`` is one Mesos resource string for every agent or a list, one
    per agent; ``isolation`` the agents' --isolation ("posix", "cgroups" or
    e.g. "cgroups/cpu,cgroups/mem"); ``flags`` any MasterConfig or AgentConfig
    field by name. Agents are named agent(1)..agent(N); agent i (0-based) has
    work_dir ``<work_dir>/agent-<i+1>``; work_dir defaults to a temporary
    directory, removed on stop unless ``keep_work_dir``.

    ``clock``: "real", "manual" (every actor on one ManualClock that tracks their
    activity: see frameworks.testing) or a Clock. ``executor``: "real" (OS
    processes) or "emulated" (actors.agent.emulated, ending each task by
    ``task_rule``).
    """

    def __init__(
        self,
        agents: int = 1,
        resources: str | Sequence[str] = DEFAULT_AGENT_RESOURCES,
        isolation: str = "posix",
        work_dir: str | None = None,
        *,
        port: int = 0,
        keep_work_dir: bool = False,
        force_encoding: bool = False,
        clock: str | Clock = "real",
        executor: str = "real",
        task_rule: Any = 0.0,
        http: bool = True,
        http_port: int = 0,
        masters: int = 1,
        zk: Any = None,
        secure: bool = False,
        **flags: Any,
    ) -> None:
        if zk is None and masters != 1:
            raise ValueError(f"masters={masters!r} needs zk= (a zk:// URL or a ZooKeeperServer) to elect a leader")
        if zk is not None and clock != "real":
            raise ValueError("zk= needs clock='real': the election runs on ZooKeeper's time")
        if executor not in EXECUTOR_MODES:
            raise ValueError(f"executor must be one of {', '.join(EXECUTOR_MODES)}, got {executor!r}")
        self.clock = make_clock(clock)
        self.executor = executor
        self.task_rule = task_rule
        if agents < 0:
            raise ValueError(f"agents must be >= 0, got {agents}")
        if isinstance(resources, str):
            per_agent = [resources] * agents
        else:
            per_agent = list(resources)
            if len(per_agent) != agents:
                raise ValueError(f"resources lists {len(per_agent)} agents' resources for {agents} agents")
        self._master_flags, self._agent_flags = split_flags(flags)
        if zk is not None:
            self._master_flags["zk"] = zk_url_of(zk)
        self._resources = per_agent
        self._isolation = _ISOLATION_ALIASES.get(isolation, isolation)
        self._own_work_dir = work_dir is None
        self._keep_work_dir = keep_work_dir or work_dir is not None
        self.work_dir = work_dir or tempfile.mkdtemp(prefix="mesopy-local-")
        # secure: generated credentials, every check on (actors/security/local.py); flags given win
        self.security = secure_setup(os.path.join(self.work_dir, "security")) if secure else None
        if self.security is not None:
            self._master_flags = {**self.security.master_flags, **self._master_flags}
            self._agent_flags = {**self.security.agent_flags, **self._agent_flags}
        try:
            self.master_config = MasterConfig(ip="127.0.0.1", port=port, **self._master_flags).validate()
            self._agent_configs = [self._make_agent_config(i) for i in range(agents)]
        except BaseException:
            if self._own_work_dir:
                shutil.rmtree(self.work_dir, ignore_errors=True)
            raise
        # Last: a node holds a ZeroMQ context, which must not be left to the garbage collector.
        self.node = Node("127.0.0.1", port, force_encoding=force_encoding, clock=self.clock,
                         curve=self.security.curve if self.security is not None else None)
        self._agent_refs: list[pykka.ActorRef[Any] | None] = [None] * agents
        self._emulators: list[pykka.ActorRef[Any] | None] = [None] * agents
        self._http = http
        self._http_port = http_port
        self._master_http: HttpServer | None = None
        self._agent_https: list[HttpServer | None] = [None] * agents
        self._client: ClusterClient | None = None
        # With zk: every master on a node of its own, electing; the agents follow the leader.
        self.masters = LocalMasters(masters, self.master_config, clock=self.clock, http=http,
                                    ask=lambda pid, t: self._ask_state(self._client, pid, t),
                                    curve=self.security.curve if self.security is not None else None) if zk else None
        self._lock = threading.Lock()
        self._started = False

    def _make_agent_config(self, index: int) -> AgentConfig:
        return AgentConfig(
            master="127.0.0.1:1",  # replaced by the node's real address in start()
            ip="127.0.0.1",
            port=0,
            resources=self._resources[index],
            isolation=self._isolation,
            work_dir=os.path.join(self.work_dir, f"agent-{index + 1}"),
            **self._agent_flags,
        ).validate()

    # --- life cycle ------------------------------------------------------------

    def start(self) -> Self:
        """Start the node, the master and every agent (a port in use raises AddressInUse)."""
        from actors.master import spawn_master

        try:
            self.node.start()
        except BaseException:
            if self._own_work_dir and not self._keep_work_dir:
                shutil.rmtree(self.work_dir, ignore_errors=True)
            raise
        self._started = True
        try:
            address = self.master
            operator = None if self.security is None else (self.security.operator, self.security.operator_secret)
            self._client = spawn_cluster_client(self.node, cluster_credential(self.master_config, operator))
            if self.masters is not None:
                self.masters.start()
                self.masters.leader(timeout=self.master_config.zk_session_timeout * 3)
            else:
                self.master_config = dataclasses.replace(self.master_config, port=self.node.port)
                self._master_http = HttpServer.bind("127.0.0.1", self._http_port, "master-http") \
                    if self._http else None
                spawn_master(self.node, self.master_config, self._master_http)
                if self._master_http is not None:
                    self._master_http.start()
            for i, config in enumerate(self._agent_configs):
                self._agent_configs[i] = dataclasses.replace(config, master=address, port=self.node.port)
                self._settle()  # on a manual clock the agents register one by one, in index order
                self._spawn_agent(i)
            self._settle()
        except BaseException:
            self.stop()
            raise
        log.info("local_cluster_started", master=self.master, agents=len(self._agent_configs), work_dir=self.work_dir)
        return self

    def stop(self) -> None:
        """Stop every agent, the master and the node; remove a temporary work_dir."""
        if not self._started:
            return
        self._started = False
        for i in range(len(self._agent_refs)):
            self.stop_agent(i)
        if self._master_http is not None:
            self._master_http.stop()
            self._master_http = None
        if self.masters is not None:
            self.masters.stop()
        self.node.stop()
        if self._own_work_dir and not self._keep_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        log.info("local_cluster_stopped", master=self.master)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses -----------------------------------------------------------

    @property
    def master(self) -> str:
        """What to give a scheduler driver: the master's ``host:port``, or with zk the ``zk://`` URL."""
        return self.master_config.zk or self.node.address

    @property
    def http(self) -> str:
        """The (leading) master's HTTP base URL (``http://127.0.0.1:port``); RuntimeError with http=False."""
        url = self._master_http.url() if self._master_http is not None else None
        if self.masters is not None:
            url = self.masters.http_url(self.masters.leader())
        if url is None:
            raise RuntimeError("the local cluster serves no HTTP (http=False, or not started)")
        return url

    def agent_http(self, index: int) -> str:
        """Agent ``index``'s (0-based) HTTP base URL; RuntimeError if it is stopped or http=False."""
        http = self._agent_https[index]
        if http is None:
            raise RuntimeError(f"{self.agent_name(index)} serves no HTTP (stopped, or http=False)")
        return http.url()

    @property
    def master_pid(self) -> PID:
        """The (leading) master's pid."""
        if self.masters is not None:
            return self.masters.leader_pid()
        return self.node.pid("master")

    @staticmethod
    def agent_name(index: int) -> str:
        return f"agent({index + 1})"

    @property
    def agents(self) -> list[str]:
        """Every agent's pid (``agent(1)@127.0.0.1:port``...), running or stopped, by index."""
        return [str(self.node.pid(self.agent_name(i))) for i in range(len(self._agent_configs))]

    def agent_config(self, index: int) -> AgentConfig:
        return self._agent_configs[index]

    def agent_work_dir(self, index: int) -> str:
        return self._agent_configs[index].work_dir

    def is_agent_running(self, index: int) -> bool:
        return self._agent_refs[index] is not None

    # --- agents ----------------------------------------------------------------

    def stop_agent(self, index: int, timeout: float = 5.0) -> None:
        """Stop agent ``index`` (0-based) as if its process ended; the master sees it exit."""
        with self._lock:
            ref, self._agent_refs[index] = self._agent_refs[index], None
        if ref is None:
            return
        for each in (ref, self._emulators[index]):
            try:
                if each is not None:
                    each.stop(timeout=timeout)
            except (pykka.ActorDeadError, pykka.Timeout):
                pass
        self._emulators[index] = None
        http, self._agent_https[index] = self._agent_https[index], None
        if http is not None:
            http.stop()
        log.info("local_agent_stopped", agent=self.agent_name(index))

    def start_agent(self, index: int) -> None:
        """(Re)start agent ``index`` (0-based) with the same name and work_dir."""
        with self._lock:
            if self._agent_refs[index] is not None:
                raise RuntimeError(f"{self.agent_name(index)} is already running")
            self._spawn_agent(index)
        log.info("local_agent_started", agent=self.agent_name(index))

    def _spawn_agent(self, index: int) -> None:
        """Agent ``index`` (and with emulated executors, the actor that plays them), with its
        own HTTP server on a free port (unless http=False)."""
        http = HttpServer.bind("127.0.0.1", 0, f"agent-{index + 1}-http").start() if self._http else None
        try:
            self._spawn_agent_process(index, http)
        except BaseException:
            if http is not None:
                http.stop()
            raise
        self._agent_https[index] = http

    def _spawn_agent_process(self, index: int, http: HttpServer | None) -> None:
        from actors.agent import spawn_agent
        from actors.agent.emulated import EmulatedExecutors
        from actors.agent.http import install_agent_routes
        from actors.agent.process import AgentProcess

        name = self.agent_name(index)
        config = self._agent_configs[index]
        if self.executor != "emulated":
            self._agent_refs[index] = spawn_agent(self.node, config, name=name, http=http)
            return
        holder: list[EmulatedExecutors] = []
        self._emulators[index] = EmulatedExecutors.spawn(
            self.node, f"emulated-executors-{name}", self.node.pid(name), self.task_rule, holder)

        def attach(agent: AgentProcess) -> None:
            agent.emulated = holder[0]
            if http is not None:
                install_agent_routes(http, agent)

        self._agent_refs[index] = AgentProcess.spawn(self.node, config, name, on_created=attach,
                                                     http_port=http.port if http is not None else None)

    def _settle(self) -> None:
        if isinstance(self.clock, ManualClock) and self.clock.activity is not None:
            self.clock.settle()

    # --- state -------------------------------------------------------------------

    def state(self, timeout: float = 10.0) -> dict[str, Any]:
        """The master's state: a dict with the keys of Mesos' /master/state JSON."""
        return self._ask_state(self._client, self.master_pid, timeout)

    @staticmethod
    def _ask_state(client: ClusterClient | None, pid: PID, timeout: float) -> dict[str, Any]:
        if client is None:
            raise RuntimeError("the local cluster is not started")
        return client.state(pid, timeout)

    def registered_agents(self) -> int:
        """How many agents the master has registered and active."""
        state = self.state()
        agents = state.get("slaves", state.get("agents", []))
        return sum(1 for a in agents if a.get("active", True))

    def wait_for_agents(self, count: int | None = None, timeout: float = 10.0) -> bool:
        """Wait until ``count`` (default: all running) agents are registered with the master."""
        want = sum(1 for r in self._agent_refs if r is not None) if count is None else count
        pause = threading.Event()
        remaining = timeout
        step = 0.02
        while True:
            if self.registered_agents() >= want:
                return True
            if remaining <= 0:
                return False
            pause.wait(step)
            remaining -= step
            step = min(step * 2, 0.2)
