"""A scheduler process for the partition and failover tests: it launches ``--tasks`` sleeping tasks,
prints every callback as one JSON line on stdout, and obeys lines on stdin
(``reconcile``, ``reconcile <task> <agent>``, ``kill <task>``, ``stop``, ``failover``)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from frameworks import MesosSchedulerDriver, Scheduler  # noqa: E402

_lock = threading.Lock()


def emit(event: str, **fields: Any) -> None:
    with _lock:
        print(json.dumps({"event": event, **fields}, default=str), flush=True)


class Launcher(Scheduler):
    def __init__(self, tasks: int, prefix: str) -> None:
        self.wanted = [f"{prefix}{i}" for i in range(tasks)]

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        emit("registered", framework_id=framework_id["value"])

    def reregistered(self, driver: Any, master_info: Any) -> None:
        emit("reregistered")

    def disconnected(self, driver: Any) -> None:
        emit("disconnected")

    def resourceOffers(self, driver: Any, offers: list[Any]) -> None:
        for offer in offers:
            if not self.wanted:
                driver.declineOffer(offer["id"], {"refuse_seconds": 3600})
                continue
            tasks: list[dict[str, Any]] = []
            while self.wanted and len(tasks) < 4:
                tid = self.wanted.pop(0)
                tasks.append({"name": tid, "task_id": {"value": tid}, "agent_id": offer["agent_id"],
                              "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                                            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}],
                              "command": {"value": "sleep 600", "shell": True}})
            driver.launchTasks(offer["id"], tasks)
            emit("launched", tasks=[t["task_id"]["value"] for t in tasks], agent_id=offer["agent_id"]["value"])

    def statusUpdate(self, driver: Any, status: Any) -> None:
        emit("status", task_id=status["task_id"]["value"], state=status["state"], reason=status.get("reason", ""),
             source=status.get("source", ""), unreachable_time=status.get("unreachable_time"),
             agent_id=(status.get("agent_id") or {}).get("value", ""), message=status.get("message", ""))

    def slaveLost(self, driver: Any, agent_id: Any) -> None:
        emit("agent_lost", agent_id=agent_id["value"])

    def error(self, driver: Any, message: str) -> None:
        emit("error", message=message)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--master", required=True)
    parser.add_argument("--name", default="partition-test")
    parser.add_argument("--tasks", type=int, default=1)
    parser.add_argument("--prefix", default="t")
    parser.add_argument("--partition-aware", action="store_true")
    parser.add_argument("--checkpoint", action="store_true")
    parser.add_argument("--failover-timeout", type=float, default=0.0)
    parser.add_argument("--framework-id", default="")
    args = parser.parse_args()
    framework: dict[str, Any] = {"name": args.name, "user": "root", "checkpoint": args.checkpoint,
                                 "failover_timeout": args.failover_timeout}
    if args.partition_aware:
        framework["capabilities"] = [{"type": "PARTITION_AWARE"}]
    if args.framework_id:
        framework["id"] = {"value": args.framework_id}
    driver = MesosSchedulerDriver(Launcher(0 if args.framework_id else args.tasks, args.prefix), framework,
                                  args.master, failover=args.failover_timeout > 0)
    driver.start()
    emit("started")
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "reconcile":
            statuses = [{"task_id": {"value": words[1]}, "agent_id": {"value": words[2]}}] if len(words) == 3 else []
            driver.reconcileTasks(statuses)
        elif words[0] == "kill":
            driver.killTask({"value": words[1]})
        elif words[0] in ("stop", "failover"):
            driver.stop(failover=words[0] == "failover")
            break
    driver.join()
    emit("exiting")


if __name__ == "__main__":
    main()
