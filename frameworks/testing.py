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
``.stop_agent(i)`` / ``.start_agent(i)`` (0-based index; a restarted agent has
the same name and work_dir and registers again), ``.agent_work_dir(i)``,
``.wait_for_agents(count=None, timeout=10)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from actors.local import DEFAULT_AGENT_RESOURCES, LocalClusterRunner, find_sandbox_file

__all__ = ["DEFAULT_AGENT_RESOURCES", "LocalCluster", "find_sandbox_file"]


class LocalCluster(LocalClusterRunner):
    """A master, its allocator and ``agents`` agents in this process (see the module's docs).

    Entering the context starts them and waits until every agent has
    registered with the master (RuntimeError after ``start_timeout`` s).
    """

    def __init__(
        self,
        agents: int = 1,
        resources: str | Sequence[str] = DEFAULT_AGENT_RESOURCES,
        isolation: str = "posix",
        work_dir: str | None = None,
        *,
        start_timeout: float = 10.0,
        **flags: Any,
    ) -> None:
        super().__init__(agents, resources, isolation, work_dir, **flags)
        self.start_timeout = start_timeout

    def start(self) -> Self:
        super().start()
        if not self.wait_for_agents(timeout=self.start_timeout):
            registered = self.registered_agents()
            self.stop()
            raise RuntimeError(
                f"only {registered} of {len(self.agents)} agents registered within {self.start_timeout} s"
            )
        return self

    def __enter__(self) -> Self:
        return self.start()
