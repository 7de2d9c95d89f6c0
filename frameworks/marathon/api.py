"""Marathon's v2 REST API on transport/http.py: apps, tasks, groups, deployments, queue, info,
leader, ping, metrics and the event stream. Changes run off the HTTP loop (they write the
store, durably, before the reply); errors answer Marathon's JSON (``{"message": ...}``, 422
with ``details``, 409 with the blocking ``deployments``). An instance that does not lead
forwards every API call to the leader unchanged (transport.http.forward), as Marathon proxies;
503 while no leader is known."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from frameworks.marathon.appdef import normalize_id
from frameworks.marathon.bulk import update_apps
from frameworks.marathon.core import MarathonCore
from frameworks.marathon.deployments import Deployment
from frameworks.marathon.errors import AppNotFound, MarathonError, ValidationError
from frameworks.marathon.scheduler import MarathonScheduler
from frameworks.marathon.views import app_json, definition_json, deployment_json, group_json, queue_json, task_json
from frameworks.leadership import Leadership
from transport.http import HttpReply, HttpRequest, HttpServer, forward, json_reply

__all__ = ["MARATHON_VERSION", "ApiInfo", "MarathonApi", "install_routes"]

MARATHON_VERSION = "1.4.0"  # the Marathon API whose shapes we answer in
_WRITE = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class ApiInfo:
    """What /v2/info reports about this instance."""

    master: str
    zk: str | None
    hostname: str
    http_port: int
    framework_name: str
    failover_timeout: float
    user: str
    role: str
    webui_dir: str


def _flag(request: HttpRequest, name: str) -> bool:
    return request.query.get(name, "false").lower() in ("true", "1", "yes")


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError as e:
        raise ValidationError([("/", f"the body is not JSON: {e}")]) from None


def _embeds(request: HttpRequest) -> set[str]:
    """``embed=apps.tasks&embed=app.counts`` (or comma separated) -> {"tasks", "counts"}."""
    values = parse_qs(request.query_string).get("embed", []) or [request.query.get("embed", "")]
    return {part.split(".", 1)[-1] for value in values for part in value.split(",") if part}


def _deployed(d: Deployment) -> HttpReply:
    return json_reply({"version": d.version, "deploymentId": d.id})


Route = Callable[[HttpRequest], Awaitable[HttpReply]]


class MarathonApi:
    """The routes; ``attach(scheduler)`` once this instance leads (until then calls are forwarded)."""

    def __init__(self, info: ApiInfo, leadership: Leadership) -> None:
        self.info = info
        self.leadership = leadership
        self._scheduler: MarathonScheduler | None = None

    def attach(self, scheduler: MarathonScheduler) -> None:
        self._scheduler = scheduler

    @property
    def s(self) -> MarathonScheduler:
        assert self._scheduler is not None
        return self._scheduler

    def leader(self) -> str | None:
        return self.leadership.leader_address()

    def lead(self, route: Route) -> Route:
        """``route`` here while this instance leads; else the leader's answer."""
        async def handler(request: HttpRequest) -> HttpReply:
            if self.leadership.is_leader and self._scheduler is not None:
                return await route(request)
            leader = self.leader()
            if leader is None or leader == self.me:
                return json_reply({"message": "no leader elected yet; try again"}, 503)
            return await forward(request, f"http://{leader}")
        return handler

    def wrap(self, fn: Callable[[HttpRequest, MarathonCore, float], HttpReply]) -> Route:
        async def handler(request: HttpRequest) -> HttpReply:
            try:
                return await asyncio.get_running_loop().run_in_executor(
                    None, self.s.call, lambda core, now: fn(request, core, now))
            except MarathonError as e:
                return json_reply(e.body(), e.status)
        return self.lead(handler)

    # --- /v2/apps ------------------------------------------------------------------

    def apps(self, request: HttpRequest, core: MarathonCore, now: float) -> HttpReply:
        if request.method == "POST":
            app, deployment = core.create_app(_body(request), now)
            self._api_event(core, now, request, app["id"])
            reply = json_reply(app_json(core, app), 201)
            reply.headers["Location"] = f"/v2/apps{app['id']}"
            return reply
        if request.method == "PUT":
            deployments = update_apps(core, _body(request), now, force=_flag(request, "force"))
            for d in deployments:
                self._api_event(core, now, request, d.app_id)
            return _deployed(deployments[0])  # one deployment per app (all of one version): the first
        wanted_id, cmd = request.query.get("id", ""), request.query.get("cmd", "")
        embed = _embeds(request)
        apps = [a for a in sorted(core.apps.values(), key=lambda a: a["id"])
                if wanted_id in a["id"] and (not cmd or cmd in (a.get("cmd") or ""))]
        return json_reply({"apps": [app_json(core, a, embed) for a in apps]})

    def app(self, request: HttpRequest, core: MarathonCore, now: float) -> HttpReply:
        tail = request.path[len("/v2/apps"):]
        force = _flag(request, "force")
        if "/tasks/" in tail:
            app_path, task_id = tail.rsplit("/tasks/", 1)
            app_id = normalize_id(app_path)
            core.app(app_id)
            if request.method != "DELETE":
                raise AppNotFound(f"no endpoint {request.method} {request.path}")
            killed, deployment = core.kill_tasks([task_id], now, scale=_flag(request, "scale"))
            if not killed:
                raise AppNotFound(f"Task '{task_id}' does not exist")
            if deployment is not None:
                return _deployed(deployment)
            checks = bool(core.apps[app_id]["healthChecks"])
            return json_reply({"task": task_json(killed[0], checks)})
        app_path, found, version = tail.rpartition("/versions")
        if found and app_path.strip("/") and version[:1] in ("", "/") and normalize_id(app_path) in core.apps:
            return self._versions(request, core.apps[normalize_id(app_path)], unquote(version.strip("/")), core)
        for suffix in ("/restart", "/tasks"):
            if tail.endswith(suffix) and normalize_id(tail[:-len(suffix)]) in core.apps:
                app_id = normalize_id(tail[:-len(suffix)])
                if suffix == "/restart":
                    if request.method != "POST":
                        raise AppNotFound(f"use POST {request.path}")
                    return _deployed(core.restart_app(app_id, now, force=force))
                if request.method == "DELETE":
                    ids = [t.id for t in core.alive(app_id)]
                    killed, deployment = core.kill_tasks(ids, now, scale=_flag(request, "scale"))
                    if deployment is not None:
                        return _deployed(deployment)
                checks = bool(core.apps[app_id]["healthChecks"])
                return json_reply({"tasks": [task_json(t, checks) for t in core.alive(app_id)]})
        app_id = normalize_id(tail)
        if request.method == "GET":
            embed = _embeds(request) | {"tasks", "lastTaskFailure"}
            return json_reply({"app": app_json(core, core.app(app_id), embed)})
        if request.method == "DELETE":
            deployment = core.delete_app(app_id, now, force=force)
        elif request.method in ("PUT", "PATCH"):
            deployment = core.update_app(app_id, _body(request), now, partial=request.method == "PATCH", force=force)
        else:
            raise AppNotFound(f"no endpoint {request.method} {request.path}")
        self._api_event(core, now, request, app_id)
        return _deployed(deployment)

    def _versions(self, request: HttpRequest, app: dict[str, Any], version: str, core: MarathonCore) -> HttpReply:
        if request.method != "GET":
            raise AppNotFound(f"no endpoint {request.method} {request.path}")
        if not version:
            return json_reply({"versions": core.versions.listing(app)})
        found = core.versions.at(app, version)
        if found is None:
            raise AppNotFound(f"App '{app['id']}' does not exist in version {version}")
        return json_reply(definition_json(found))

    def _api_event(self, core: MarathonCore, now: float, request: HttpRequest, app_id: str) -> None:
        app = core.apps.get(app_id)
        core.event("api_post_event", now, clientIp=request.peer.rsplit(":", 1)[0], uri=request.path,
                   appDefinition=app_json(core, app) if app else None)

    # --- tasks, groups, deployments, queue ---------------------------------------------

    def tasks(self, request: HttpRequest, core: MarathonCore, now: float) -> HttpReply:
        states = {s.strip().upper() for s in request.query.get("status", "").split(",") if s.strip()}
        out = []
        for task in sorted(core.tasks.values(), key=lambda t: (t.app_id, t.staged_at)):
            app = core.apps.get(task.app_id)
            if task.alive and (not states or task.state.removeprefix("TASK_") in states):
                out.append(task_json(task, bool(app and app["healthChecks"])))
        return json_reply({"tasks": out})

    def tasks_delete(self, request: HttpRequest, core: MarathonCore, now: float) -> HttpReply:
        body = _body(request)
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValidationError([("/ids", f"must be a list of task ids, got {ids!r}")])
        _, deployment = core.kill_tasks(ids, now, scale=_flag(request, "scale"))
        return _deployed(deployment) if deployment is not None else json_reply({})

    def groups(self, request: HttpRequest, core: MarathonCore, now: float) -> HttpReply:
        tail = request.path[len("/v2/groups"):].strip("/")
        group_id = "/" + tail if tail else "/"
        if group_id != "/" and not any(a.startswith(group_id + "/") for a in core.apps):
            raise AppNotFound(f"Group '{group_id}' does not exist")
        return json_reply(group_json(core, group_id, _embeds(request) & {"tasks"}))

    def deployments(self, request: HttpRequest, core: MarathonCore, now: float) -> HttpReply:
        tail = request.path[len("/v2/deployments"):].strip("/")
        if request.method == "GET" and not tail:
            return json_reply([deployment_json(d) for d in sorted(core.deployments.values(), key=lambda d: d.version)])
        if request.method != "DELETE" or not tail:
            raise AppNotFound(f"no endpoint {request.method} {request.path}")
        rollback = core.cancel_deployment(tail, now, force=_flag(request, "force"))
        return _deployed(rollback) if rollback is not None else HttpReply(status=202)

    def queue(self, request: HttpRequest, core: MarathonCore, now: float) -> HttpReply:
        if request.method == "DELETE" and request.path.endswith("/delay"):
            core.reset_delay(normalize_id(request.path[len("/v2/queue"):-len("/delay")]))
            return HttpReply(status=204)
        return json_reply(queue_json(core, now))

    # --- about this instance --------------------------------------------------------------

    def info_json(self, core: MarathonCore) -> dict[str, Any]:
        i = self.info
        leader = self.leader()
        zk_hosts, _, zk_path = (i.zk or "").removeprefix("zk://").partition("/")
        return {
            "name": "marathon", "version": MARATHON_VERSION, "buildref": "mesopy", "elected": self.leadership.is_leader,
            "leader": leader, "frameworkId": core.framework_id,
            "marathon_config": {
                "master": i.master, "framework_name": i.framework_name, "failover_timeout": int(i.failover_timeout),
                "checkpoint": True, "hostname": i.hostname, "ha": bool(i.zk), "mesos_role": i.role,
                "mesos_user": i.user, "webui_url": None, "mesos_leader_ui_url": self.s.master_url,
                "local_port_min": 10000, "local_port_max": 20000,
                "executor": "//cmd", "task_launch_timeout": 300000, "reconciliation_interval": 300000,
                "decline_offer_duration": 120000, "features": [],
            },
            "zookeeper_config": {"zk": i.zk, "zk_hosts": zk_hosts or None, "zk_path": "/" + zk_path if i.zk else None,
                                 "zk_session_timeout": 10000, "zk_timeout": 10000, "zk_max_versions": 50},
            "http_config": {"http_port": i.http_port, "https_port": None, "assets_path": i.webui_dir},
            "event_subscriber": None,
        }

    @property
    def me(self) -> str:
        return f"{self.info.hostname}:{self.info.http_port}"

    def metrics_json(self, core: MarathonCore) -> dict[str, Any]:
        states = [t.state for t in core.tasks.values()]
        gauges = {
            "service.mesosphere.marathon.app.count": len(core.apps),
            "service.mesosphere.marathon.task.running.count": states.count("TASK_RUNNING"),
            "service.mesosphere.marathon.task.staged.count": states.count("TASK_STAGING"),
            "service.mesosphere.marathon.deployments.active": len(core.deployments),
            "service.mesosphere.marathon.event-stream.subscribers": self.s.events.subscribers,
        }
        return {"version": "4.0.0", "gauges": {k: {"value": v} for k, v in gauges.items()},
                "counters": {"service.mesosphere.marathon.events.published": {"count": self.s.events.published}},
                "histograms": {}, "meters": {}, "timers": {}}

    async def events(self, request: HttpRequest) -> HttpReply:
        types = [t for t in request.query.get("event_type", "").split(",") if t]
        stream = self.s.events.subscribe(types)
        if stream is None:
            return json_reply({"message": "too many event stream subscribers"}, 503)
        return HttpReply(stream=stream)


def install_routes(server: HttpServer, info: ApiInfo, leadership: Leadership) -> MarathonApi:
    """Marathon's v2 API on ``server``, answered by the leader of ``leadership``."""
    api = MarathonApi(info, leadership)
    w = api.wrap
    server.route("/v2/apps", w(api.apps), ("GET", "POST", "PUT"))
    server.route("/v2/apps/", w(api.app), _WRITE, prefix=True)
    server.route("/v2/tasks", w(api.tasks))
    server.route("/v2/tasks/delete", w(api.tasks_delete), ("POST",))
    server.route("/v2/groups", w(api.groups), prefix=True)
    server.route("/v2/deployments", w(api.deployments), ("GET", "DELETE"), prefix=True)
    server.route("/v2/queue", w(api.queue), ("GET", "DELETE"), prefix=True)
    server.route("/v2/info", w(lambda r, core, now: json_reply(api.info_json(core))))
    server.route("/v2/leader", w(lambda r, core, now: json_reply({"leader": api.leader()})))
    server.route("/metrics", w(lambda r, core, now: json_reply(api.metrics_json(core))))
    server.route("/v2/events", api.lead(api.events))

    async def ping(request: HttpRequest) -> HttpReply:
        return HttpReply(body=b"pong", content_type="text/plain")
    server.route("/ping", ping)
    return api
