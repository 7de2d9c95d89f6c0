"""A scheduler on the real, unmodified pymesos 0.3.15, which speaks Mesos' v1 scheduler HTTP API.

Run as ``python pymesos_http_program.py HOST:HTTP_PORT [executor]``; it prints one JSON
line per thing it sees (``{"event": ...}``) for tests/compat/test_pymesos_http.py to read.

With ``executor``: it launches ``exec-ok`` and ``exec-hold`` on one custom executor
(tests/compat/pymesos_http_executor.py, pymesos' MesosExecutorDriver over the agent's
v1 executor API), prints the executor's messages, pings it, kills ``exec-hold``, and
stops once both ended and the ping came back. Without, its life, each step started
by what it saw before:

1. registered; on the first offer it launches ``ok`` (exits 0), ``fail`` (exits 3)
   and ``long`` (sleeps), and then accepts the same, now used, offer once more
   with a task ``stale`` (the master must answer with an update, not an HTTP error);
2. acknowledges every update that carries a uuid (explicit acknowledgements);
   kills ``long`` once it runs;
3. once all four ended, reconciles a task the master never saw (``ghost``);
4. then declines every offer for an hour and revives: an offer after the revive
   proves the filter was cleared; then it stops the driver (TEARDOWN) and exits.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import threading
from typing import Any

from pymesos import MesosSchedulerDriver, Scheduler, decode_data, encode_data

COMMANDS = {"ok": "echo hello", "fail": "exit 3", "long": "sleep 300"}
ENDED = {"ok": "TASK_FINISHED", "fail": "TASK_FAILED", "long": "TASK_KILLED"}


def say(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def task(name: str, command: str, offer: Any) -> dict[str, Any]:
    return {"name": name, "task_id": {"value": name}, "agent_id": {"value": offer.agent_id.value},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}],
            "command": {"value": command, "shell": True}}


class Program(Scheduler):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.used_offer: Any = None
        self.stale_sent = False
        self.ended: dict[str, str] = {}
        self.phase = "launch"  # launch -> reconcile -> decline -> revived

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        say("registered", framework_id=framework_id.value, version=master_info.version)

    def resourceOffers(self, driver: Any, offers: Any) -> None:
        with self.lock:
            for offer in offers:
                if self.used_offer is None:
                    self.used_offer = offer.id
                    driver.launchTasks(offer.id, [task(n, c, offer) for n, c in COMMANDS.items()])
                    say("launched", offer_id=offer.id.value)
                elif not self.stale_sent:
                    self.stale_sent = True
                    driver.launchTasks(self.used_offer, [task("stale", "echo never", offer)])
                    driver.declineOffer(offer.id, filters={"refuse_seconds": 0.5})
                    say("stale_accept_sent", offer_id=self.used_offer.value)
                elif self.phase == "decline":
                    driver.declineOffer(offer.id, filters={"refuse_seconds": 3600})
                    self.phase = "revive"
                    say("declined_for_an_hour", offer_id=offer.id.value)
                    driver.reviveOffers()
                elif self.phase == "revive":
                    self.phase = "done"
                    say("offer_after_revive", offer_id=offer.id.value)
                    driver.declineOffer(offer.id)
                    driver.stop()
                else:
                    driver.declineOffer(offer.id, filters={"refuse_seconds": 0.5})

    def statusUpdate(self, driver: Any, status: Any) -> None:
        name = status.task_id.value
        say("update", task=name, state=status.state, reason=status.get("reason", ""),
            has_uuid="uuid" in status, agent_id=status.get("agent_id", {}).get("value", ""))
        if "uuid" in status:
            driver.acknowledgeStatusUpdate(status)
        with self.lock:
            if name == "long" and status.state == "TASK_RUNNING":
                driver.killTask({"value": "long"})
            if name in ENDED or name == "stale":
                if status.state in (ENDED.get(name), "TASK_LOST", "TASK_DROPPED", "TASK_ERROR"):
                    self.ended[name] = status.state
            if self.phase == "launch" and len(self.ended) == 4:
                self.phase = "reconcile"
                driver.reconcileTasks([{"task_id": {"value": "ghost"}}])
            if name == "ghost" and self.phase == "reconcile":
                self.phase = "decline"

    def error(self, driver: Any, message: str) -> None:
        say("error", message=message)


EXECUTOR = {"executor_id": {"value": "pyexec"}, "name": "pymesos executor",
            "command": {"value": f"{sys.executable} {os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pymesos_http_executor.py')}"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}]}


class ExecutorProgram(Scheduler):
    """Tasks on a custom pymesos executor (implicit acknowledgements: pymesos' default)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.launched = False
        self.seen: set[str] = set()

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        say("registered", framework_id=framework_id.value, version=master_info.version)

    def resourceOffers(self, driver: Any, offers: Any) -> None:
        with self.lock:
            for offer in offers:
                if self.launched:
                    driver.declineOffer(offer.id, filters={"refuse_seconds": 0.5})
                    continue
                self.launched = True
                tasks = [dict(task(n, "", offer), executor=EXECUTOR) for n in ("exec-ok", "exec-hold")]
                for t in tasks:
                    del t["command"]
                driver.launchTasks(offer.id, tasks)
                say("launched", offer_id=offer.id.value)

    def statusUpdate(self, driver: Any, status: Any) -> None:
        name = status.task_id.value
        say("update", task=name, state=status.state, executor_id=status.get("executor_id", {}).get("value", ""),
            data=decode_data(status.data).decode() if status.get("data") else "", reason=status.get("reason", ""),
            message=status.get("message", ""))
        with self.lock:
            if status.state == "TASK_RUNNING" and name == "exec-hold":
                driver.killTask({"value": name})
                driver.sendFrameworkMessage({"value": "pyexec"}, status.agent_id, encode_data(b"ping"))
            if status.state in ("TASK_FINISHED", "TASK_KILLED"):
                self.seen.add(name)
            self._done(driver)

    def frameworkMessage(self, driver: Any, executor_id: Any, agent_id: Any, data: Any) -> None:
        text = decode_data(data).decode()
        say("message", executor_id=executor_id.value, text=text)
        with self.lock:
            self.seen.add(text)
            self._done(driver)

    def _done(self, driver: Any) -> None:
        if {"exec-ok", "exec-hold", "echo:ping"} <= self.seen and "stopped" not in self.seen:
            self.seen.add("stopped")
            driver.stop()

    def error(self, driver: Any, message: str) -> None:
        say("error", message=message)


def main() -> int:
    master = sys.argv[1]
    with_executor = sys.argv[2:] == ["executor"]
    framework = {"user": getpass.getuser(), "name": "pymesos-http", "failover_timeout": 0}
    if with_executor:
        driver = MesosSchedulerDriver(ExecutorProgram(), framework, master, use_addict=True)
    else:
        driver = MesosSchedulerDriver(Program(), framework, master, use_addict=True,
                                      implicit_acknowledgements=False)
    driver.start()
    driver.join()
    say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
