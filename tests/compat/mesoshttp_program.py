"""A scheduler on the real, unmodified mesoshttp 0.4.2 (requests-based Mesos v1 HTTP client).

Run as ``python mesoshttp_program.py http://HOST:HTTP_PORT``; prints one JSON line per thing
it sees. It runs ``hello`` (exits 0) and ``oops`` (exits 2) on its first offer, declines the
rest, lets mesoshttp acknowledge every update, reconciles them once both ended (the master has forgotten them: TASK_LOST), then tears down.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from mesoshttp.client import MesosClient

DONE = {"hello": "TASK_FINISHED", "oops": "TASK_FAILED"}


def say(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def main() -> int:
    client = MesosClient(mesos_urls=[sys.argv[1]], frameworkName="mesoshttp", max_reconnect=1)
    lock = threading.Lock()
    ended: dict[str, str] = {}
    launched: list[bool] = []

    def subscribed(driver: Any) -> None:
        say("subscribed", framework_id=client.frameworkId)

    def offers(offers: list[Any]) -> None:
        with lock:
            for offer in offers:
                if launched:
                    offer.decline(options={"filters": {"refuse_seconds": 1}})
                    continue
                launched.append(True)
                agent = offer.get_offer()["agent_id"]
                offer.accept([{"name": name, "task_id": {"value": name}, "agent_id": agent,
                               "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                                             {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}],
                               "command": {"value": command, "shell": True}}
                              for name, command in (("hello", "echo hello"), ("oops", "exit 2"))])
                say("launched")

    def update(update: dict[str, Any]) -> None:
        status = update["status"]
        name = status["task_id"]["value"]
        say("update", task=name, state=status["state"], reason=status.get("reason", ""))
        with lock:
            if DONE.get(name) == status["state"]:
                ended[name] = status["agent_id"]["value"]
                if len(ended) == 2:
                    client.get_driver().reconcile([{"task_id": {"value": n}, "agent_id": {"value": a}}
                                                   for n, a in ended.items()])
                    say("reconciled")
            elif name in ended and status.get("reason") == "REASON_RECONCILIATION":
                say("stopping")
                client.tearDown()

    def heartbeat(_: Any) -> None:
        say("heartbeat")

    client.on(MesosClient.SUBSCRIBED, subscribed)
    client.on(MesosClient.OFFERS, offers)
    client.on(MesosClient.UPDATE, update)
    client.on(MesosClient.HEARTBEAT, heartbeat)
    client.on(MesosClient.ERROR, lambda message: say("error", message=message))
    client.register()
    say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
