"""Marathon's brain (pure: no sockets, threads or clocks; ``now`` is passed in).

It holds the apps, their tasks and the deployments, answers the API's changes, places
instances in offers, follows status updates, and on each ``tick`` moves deployments on and
keeps every app at its ``instances``. What it needs done is appended to ``outbox``
(frameworks/marathon/effects.py); every change is saved there before anything that depends on
it. Store keys: ``apps/<id>``, ``tasks/<task id>`` (saved at launch and when Marathon kills
it; states come back by reconciliation), ``deployments/<id>``, ``versions/<app id>``, ``framework_id``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import structlog

from frameworks.marathon.appdef import config_of, group_ids, parse_app
from frameworks.marathon.backoff import LaunchDelays
from frameworks.marathon.deployments import Deployment, plan_json, plan_steps, rolling_step
from frameworks.marathon.effects import Decline, Effect, Event, Kill, Launch, Reconcile, Remove, Revive, Save
from frameworks.marathon.errors import AppNotFound, Conflict
from frameworks.marathon.instances import TaskRecord, TaskTable, iso_time, task_id_for
from frameworks.marathon.offers import OfferSpace, task_info
from frameworks.marathon.placement import order_for_kill, service_ports_for
from frameworks.marathon.versions import AppVersions

__all__ = ["MarathonCore"]

log = structlog.get_logger(__name__)

DECLINE_IDLE_SECONDS = 120.0  # Marathon's --decline_offer_duration
DECLINE_BUSY_SECONDS = 5.0  # an offer that fit nothing while something waits


def _dump(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


class MarathonCore:
    def __init__(self) -> None:
        self.apps: dict[str, dict[str, Any]] = {}
        self.tasks = TaskTable()
        self.deployments: dict[str, Deployment] = {}
        self.delays = LaunchDelays()
        self.failures: dict[str, dict[str, Any]] = {}  # app id -> lastTaskFailure
        self.versions = AppVersions()
        self.framework_id: str | None = None
        self.outbox: list[Effect] = []

    # --- state -------------------------------------------------------------------

    def load(self, records: Mapping[str, bytes]) -> None:
        """Restore what a previous instance saved (its store's keys and values)."""
        for key, raw in records.items():
            if key == "framework_id":
                self.framework_id = raw.decode()
                continue
            value = json.loads(raw)
            if key.startswith("apps/"):
                self.apps[value["id"]] = value
            elif key.startswith("tasks/"):
                self.tasks.add(TaskRecord.from_record(value))
            elif key.startswith("versions/"):
                self.versions.load(value)
            elif key.startswith("deployments/"):
                deployment = Deployment.from_record(value)
                self.deployments[deployment.id] = deployment

    def _save_app(self, app: dict[str, Any]) -> None:
        self.outbox.append(Save("apps" + app["id"], _dump(app)))
        self.outbox.append(Save(*self.versions.record(app)))

    def _save_task(self, task: TaskRecord) -> None:
        self.outbox.append(Save("tasks/" + task.id, _dump(task.to_record())))

    def _save_deployment(self, deployment: Deployment) -> None:
        self.outbox.append(Save("deployments/" + deployment.id, _dump(deployment.to_record())))

    def event(self, kind: str, now: float, **fields: Any) -> None:
        """Publish ``kind`` on /v2/events (after the effects before it)."""
        self.outbox.append(Event({"eventType": kind, "timestamp": iso_time(now), **fields}))

    def registered(self, framework_id: str) -> None:
        """(Re)registered: keep the id, reconcile every task we know, then the rest, and send
        again the kills still pending."""
        if framework_id != self.framework_id:
            self.framework_id = framework_id
            self.outbox.append(Save("framework_id", framework_id.encode()))
        known = [{"task_id": {"value": t.id}, "agent_id": {"value": t.agent_id}} for t in self.tasks.values()]
        if known:
            self.outbox.append(Reconcile(known))
        self.outbox.append(Reconcile([]))
        for task in self.tasks.values():  # a kill asked for before a restart may never have been sent
            if task.killing:
                self.outbox.append(Kill(task.id, task.agent_id))
        self.outbox.append(Revive())

    # --- API changes ----------------------------------------------------------------

    def app(self, app_id: str) -> dict[str, Any]:
        if app_id not in self.apps:
            raise AppNotFound(f"App '{app_id}' does not exist")
        return self.apps[app_id]

    def reset_delay(self, app_id: str) -> None:
        """``DELETE /v2/queue/{appId}/delay``: the app may launch at once (offers revived)."""
        self.delays.reset(self.app(app_id)["id"])
        self.outbox.append(Revive())

    def deployments_of(self, app_id: str) -> list[Deployment]:
        return [d for d in self.deployments.values() if d.app_id == app_id]

    def check_free(self, app_id: str, force: bool, now: float) -> None:
        busy = self.deployments_of(app_id)
        if busy and not force:
            raise Conflict(f"App is locked by one or more deployments. Override with the option '?force=true'. "
                           f"View details at '/v2/deployments/<DEPLOYMENT_ID>'.", [d.id for d in busy])
        for d in busy:  # superseded: the new deployment starts from where this one got to
            self._end_deployment(d, now, "deployment_failed")

    def _deploy(self, app_id: str, original: dict[str, Any] | None, target: dict[str, Any] | None,
                now: float, version: str, restart: bool = False) -> Deployment:
        deployment = Deployment(str(uuid.uuid4()), version, app_id, original, target,
                                plan_steps(original, target, restart), started_at=now)
        self.deployments[deployment.id] = deployment
        self._save_deployment(deployment)
        self.event("deployment_info", now, plan=plan_json(deployment),
                    currentStep={"actions": [{"action": deployment.action, "app": app_id}]})
        self.outbox.append(Revive())
        return deployment

    def _stamp(self, app: dict[str, Any], now: float, config_changed: bool,
               previous: Mapping[str, Any] | None) -> None:
        """``app`` is the app's definition from ``now`` on: stamped with its version, kept, saved."""
        version = iso_time(now)
        last_config = version if config_changed or previous is None else previous["versionInfo"]["lastConfigChangeAt"]
        app["version"], app["versionInfo"] = version, {"lastScalingAt": version, "lastConfigChangeAt": last_config}
        self.apps[app["id"]] = app
        self._save_app(app)

    def create_app(self, body: Any, now: float) -> tuple[dict[str, Any], Deployment]:
        return self.create(self.new_app(body), now)

    def new_app(self, body: Any) -> dict[str, Any]:
        app = parse_app(body)
        if app["id"] in self.apps:
            raise Conflict(f"An app with id [{app['id']}] already exists.")
        clash = [a for a in self.apps if a.startswith(app["id"] + "/") or a in group_ids(app["id"])]
        if clash:
            raise Conflict(f"{app['id']} is a group of {clash[0]} or lies under it: an id is an app or a group")
        return app

    def create(self, app: dict[str, Any], now: float) -> tuple[dict[str, Any], Deployment]:
        app["portDefinitions"] = service_ports_for(app["portDefinitions"], self.apps.values())
        self._stamp(app, now, True, None)
        return app, self._deploy(app["id"], None, app, now, app["version"])

    def update_app(self, app_id: str, body: Any, now: float, *, partial: bool, force: bool) -> Deployment:
        """PUT (``partial=False``: the body replaces the definition; ``{"version": v}``: back to
        the definition of version v) or PATCH; PUT of an unknown id creates it."""
        previous = self.apps.get(app_id)
        if previous is None:
            if partial:
                raise AppNotFound(f"App '{app_id}' does not exist")
            return self.create_app({**body, "id": app_id} if isinstance(body, dict) else body, now)[1]
        app = self.updated(previous, body, partial)
        self.check_free(app_id, force, now)
        return self.change(previous, app, now)

    def updated(self, previous: dict[str, Any], body: Any, partial: bool) -> dict[str, Any]:
        """The definition ``body`` makes of ``previous`` (nothing changes yet)."""
        app_id = previous["id"]
        if isinstance(body, dict) and "version" in body and set(body) <= {"id", "version"}:
            version, body = str(body["version"]), self.versions.at(previous, str(body["version"]))
            if body is None:
                raise AppNotFound(f"App '{app_id}' does not exist in version {version}")
        base = previous if partial or (isinstance(body, dict) and set(body) <= {"instances", "id"}) else None
        return parse_app(body, base=base, app_id=app_id)

    def change(self, previous: dict[str, Any], app: dict[str, Any], now: float) -> Deployment:
        app_id = app["id"]
        app["portDefinitions"] = service_ports_for(app["portDefinitions"],
                                                   [a for a in self.apps.values() if a["id"] != app_id],
                                                   previous["portDefinitions"])
        changed = config_of(app) != config_of(previous)
        self._stamp(app, now, changed, previous)
        if changed:
            self.delays.reset(app_id)
        return self._deploy(app_id, previous, app, now, app["version"], restart=changed)

    def restart_app(self, app_id: str, now: float, *, force: bool) -> Deployment:
        previous = self.app(app_id)
        self.check_free(app_id, force, now)
        app = json.loads(_dump(previous))
        self._stamp(app, now, True, previous)
        return self._deploy(app_id, previous, app, now, app["version"], restart=True)

    def delete_app(self, app_id: str, now: float, *, force: bool) -> Deployment:
        previous = self.app(app_id)
        self.check_free(app_id, force, now)
        return self._deploy(app_id, previous, None, now, iso_time(now))

    def kill_tasks(self, task_ids: list[str], now: float, *, scale: bool) -> tuple[list[TaskRecord], Deployment | None]:
        """Kill these tasks (they are replaced unless ``scale``: then the app shrinks by as many)."""
        killed = [self.tasks[t] for t in task_ids if t in self.tasks and self.tasks[t].alive]
        deployment = None
        for task in killed:
            self._kill(task)
        if scale:
            for app_id in sorted({t.app_id for t in killed}):
                app = self.apps.get(app_id)
                if app is not None:
                    fewer = sum(1 for t in killed if t.app_id == app_id)
                    deployment = self.update_app(app_id, {"instances": max(0, app["instances"] - fewer)}, now,
                                                 partial=True, force=True)
        return killed, deployment

    def cancel_deployment(self, deployment_id: str, now: float, *, force: bool) -> Deployment | None:
        """force: just stop it; else roll back (a new deployment to the original state)."""
        deployment = self.deployments.get(deployment_id)
        if deployment is None:
            raise AppNotFound(f"DeploymentPlan {deployment_id} does not exist")
        self._end_deployment(deployment, now, "deployment_failed")
        if force:
            return None
        original, app_id = deployment.original, deployment.app_id
        current = self.apps.get(app_id)
        if original is None:  # it created the app: rolling back deletes it
            return self._deploy(app_id, current, None, now, iso_time(now))
        app = json.loads(_dump(original))
        restart = current is None or config_of(current) != config_of(original)
        self._stamp(app, now, restart, current)
        return self._deploy(app_id, current, app, now, app["version"], restart=restart)

    def _end_deployment(self, deployment: Deployment, now: float, kind: str) -> None:
        self.deployments.pop(deployment.id, None)
        self.outbox.append(Remove("deployments/" + deployment.id))
        self.event(kind, now, id=deployment.id, plan=plan_json(deployment))

    # --- tasks ------------------------------------------------------------------------

    def _kill(self, task: TaskRecord) -> None:
        task.killing = True
        self._save_task(task)
        self.outbox.append(Kill(task.id, task.agent_id))

    def alive(self, app_id: str) -> list[TaskRecord]:
        return [t for t in self.tasks.of_app(app_id) if t.alive]

    def _restarting(self, app_id: str) -> Deployment | None:
        return next((d for d in self.deployments_of(app_id) if d.action == "RestartApplication"), None)

    def wanted(self, app: Mapping[str, Any], now: float) -> int:
        """How many more tasks ``app`` should launch now (0 while its launch delay runs)."""
        if any(d.action == "StopApplication" for d in self.deployments_of(app["id"])):
            return 0
        if self.delays.ready_at(app) > now:
            return 0
        return self.demand(app)

    def demand(self, app: Mapping[str, Any]) -> int:
        """How many tasks ``app`` lacks (the queue's count), regardless of delay."""
        live = [t for t in self.alive(app["id"]) if not t.killing]
        if self._restarting(app["id"]) is not None:
            return self._rolling(app, live).start_new
        return max(0, int(app["instances"]) - len(live))

    def _rolling(self, app: Mapping[str, Any], live: list[TaskRecord]) -> Any:
        checks = bool(app["healthChecks"])
        config = app["versionInfo"]["lastConfigChangeAt"]
        old = [t for t in live if t.config_version != config]
        new = [t for t in live if t.config_version == config]
        return rolling_step(int(app["instances"]), app["upgradeStrategy"], old_alive=len(old),
                            old_healthy=sum(t.ready(checks) for t in old), new_alive=len(new),
                            new_healthy=sum(t.ready(checks) for t in new))

    def offers(self, offers: list[Mapping[str, Any]], now: float) -> None:
        waiting = {a["id"]: self.wanted(a, now) for a in self.apps.values()}
        for offer in offers:
            space, tasks = OfferSpace(offer), []
            for app_id, count in waiting.items():
                app = self.apps[app_id]
                placed = [t.placement for t in self.alive(app_id)] if count > 0 and app["constraints"] else []
                while count > 0:
                    match = space.take(app, placed)
                    if isinstance(match, str):
                        break
                    task = TaskRecord(task_id_for(app_id, str(uuid.uuid4())), app_id, app["version"],
                                      app["versionInfo"]["lastConfigChangeAt"], str(offer["agent_id"]["value"]),
                                      space.hostname, dict(space.placement[1]), match.host_ports,
                                      [int(p["port"]) for p in app["portDefinitions"]], staged_at=now)
                    self.tasks.add(task)
                    placed.append(task.placement)
                    self._save_task(task)
                    tasks.append(task_info(app, task.id, offer, match, task.service_ports))
                    count -= 1
                waiting[app_id] = count
            if tasks:
                self.outbox.append(Launch([dict(offer["id"])], tasks))
            else:
                busy = any(self.demand(a) for a in self.apps.values())
                self.outbox.append(Decline([dict(offer["id"])], DECLINE_BUSY_SECONDS if busy else DECLINE_IDLE_SECONDS))

    def status(self, status: Mapping[str, Any], now: float) -> None:
        task_id = str(status.get("task_id", {}).get("value", ""))
        state = str(status.get("state", ""))
        task = self.tasks.get(task_id)
        if task is None:
            if state not in ("TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR",
                             "TASK_DROPPED", "TASK_GONE", "TASK_UNKNOWN", "TASK_GONE_BY_OPERATOR"):
                agent = str(status.get("agent_id", {}).get("value", ""))
                log.info("marathon_unknown_task_killed", task_id=task_id, state=state)
                self.outbox.append(Kill(task_id, agent))  # not ours (any more): Marathon kills it
            return
        before_state, before_healthy = task.state, task.healthy
        if "healthy" in status and status["healthy"] is not None:
            task.healthy = bool(status["healthy"])
        task.state = state
        if state == "TASK_RUNNING" and task.started_at is None:
            task.started_at = now
        app = self.apps.get(task.app_id)
        if state != before_state:
            self.event("status_update_event", now, slaveId=task.agent_id, taskId=task.id, taskStatus=state,
                        message=str(status.get("message", "")), appId=task.app_id, host=task.host,
                        ports=task.host_ports, ipAddresses=[], version=task.version)
        if task.healthy != before_healthy and task.healthy is not None:
            task.last_health_change = now
            self.event("health_status_changed_event", now, appId=task.app_id, taskId=task.id,
                        instanceId=task.id, version=task.version, alive=task.healthy)
        if not task.alive:
            self._task_ended(task, app, state, status, now)
        # A live task's state is not saved on each change: a restarted instance loads the task
        # (saved at launch) and reconciles it, which tells its state again.
        for deployment in self.deployments_of(task.app_id):  # done now, not at the next tick
            self._progress(deployment, now)

    def _task_ended(self, task: TaskRecord, app: dict[str, Any] | None, state: str,
                    status: Mapping[str, Any], now: float) -> None:
        self.tasks.drop(task)
        self.outbox.append(Remove("tasks/" + task.id))
        if app is None:
            return
        if not task.killing or task.healthy is False:
            self.delays.failed(app, now)
            self.failures[app["id"]] = {
                "appId": app["id"], "host": task.host, "message": str(status.get("message", "")), "state": state,
                "taskId": task.id, "timestamp": iso_time(now), "version": task.version, "slaveId": task.agent_id}
        self.outbox.append(Revive())

    # --- the periodic move ---------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Move deployments on; kill what exceeds an app's instances (or its rolling step)."""
        for deployment in list(self.deployments.values()):
            self._progress(deployment, now)
        for app in list(self.apps.values()):
            live = [t for t in self.alive(app["id"]) if not t.killing]
            if self._restarting(app["id"]) is not None:
                config = app["versionInfo"]["lastConfigChangeAt"]
                old = [t for t in live if t.config_version != config]
                for task in order_for_kill(old, app, self._rolling(app, live).kill_old):
                    self._kill(task)
            elif len(live) > int(app["instances"]):
                for task in order_for_kill(live, app, len(live) - int(app["instances"])):
                    self._kill(task)

    def _progress(self, deployment: Deployment, now: float) -> None:
        app_id, action = deployment.app_id, deployment.action
        if action == "StopApplication":
            for task in self.alive(app_id):
                if not task.killing:
                    self._kill(task)
            if self.alive(app_id):
                return
            self.apps.pop(app_id, None)
            self.delays.reset(app_id)
            self.failures.pop(app_id, None)
            self.outbox.append(Remove("apps" + app_id))
            self.outbox.append(Remove(self.versions.forget(app_id)))
            self.event("app_terminated_event", now, appId=app_id)
        elif action in ("ScaleApplication", "RestartApplication"):
            app = self.apps.get(app_id)
            if app is None:
                return
            checks, config = bool(app["healthChecks"]), app["versionInfo"]["lastConfigChangeAt"]
            live = self.alive(app_id)
            if len(live) != int(app["instances"]) or not all(  # stops at the first not ready (each status)
                    t.ready(checks) and not t.killing and (action == "ScaleApplication" or t.config_version == config)
                    for t in live):
                return
        if deployment.advance():
            self._end_deployment(deployment, now, "deployment_success")
        else:
            self._save_deployment(deployment)
            self._progress(deployment, now)
