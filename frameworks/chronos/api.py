"""Chronos' REST API on a mesopy HttpServer, under ``/scheduler/...`` and ``/v1/scheduler/...``.

| call | answer |
| --- | --- |
| ``GET /scheduler/jobs`` | 200, the jobs (JSON list) |
| ``GET /scheduler/jobs/search?name=&command=&any=`` | 200, the jobs whose field contains the term (case ignored) |
| ``POST /scheduler/iso8601``, ``POST /scheduler/dependency`` | 204 (create or replace), 400 naming field and value |
| ``GET /scheduler/job/{name}`` | 200, the job |
| ``PUT /scheduler/job/{name}[?arguments=...]`` | 204, a run is queued |
| ``DELETE /scheduler/job/{name}`` | 204 |
| ``DELETE /scheduler/task/kill/{name}`` | 204, its queued runs dropped and its tasks killed |
| ``PUT /scheduler/job/success/{name}`` | 200, the job counts a success now and its dependents run |
| ``GET /scheduler/job/stat/{name}`` | 200, ``{"histogram": ..., "taskStatHistory": [...]}`` |
| ``GET /scheduler/stats/{99thPercentile,...,median,mean}`` | 200, ``[{"jobNameLabel", "time"}]`` (s), slowest first |
| ``GET /scheduler/graph/dot``, ``GET /scheduler/graph/csv`` | 200, text |
| ``GET /leader`` | 200, ``{"leader": "host:port"}`` |

An unknown job is 400, as in Chronos. A non-leading instance forwards each call to
the leader unchanged (``transport.http.forward``); ``/`` serves the web UI's files.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

from frameworks.chronos.service import ChronosService
from transport.http import HttpError, HttpReply, HttpRequest, HttpServer, forward, json_reply

__all__ = ["PREFIXES", "WEBUI", "ChronosApi"]

PREFIXES = ("/scheduler", "/v1/scheduler")
WEBUI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "webui")
_TYPES = {".html": "text/html; charset=utf-8", ".js": "application/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}
T = TypeVar("T")


class ChronosApi:
    """``service()`` is the leader's ChronosService, or None on a non-leader; ``leader()`` is the
    leader's ``host:port`` (None while there is none); ``me`` is this instance's."""

    def __init__(self, service: Callable[[], ChronosService | None], leader: Callable[[], str | None],
                 me: str) -> None:
        self.service = service
        self.leader = leader
        self.me = me

    def install(self, server: HttpServer) -> None:
        for prefix in PREFIXES:
            server.route(f"{prefix}/jobs", self._jobs)
            server.route(f"{prefix}/jobs/search", self._search)
            server.route(f"{prefix}/iso8601", self._iso8601, ("POST", "PUT"))
            server.route(f"{prefix}/dependency", self._dependency, ("POST", "PUT"))
            server.route(f"{prefix}/job", self._job, ("GET", "PUT", "DELETE"), prefix=True)
            server.route(f"{prefix}/task/kill", self._kill, ("DELETE",), prefix=True)
            server.route(f"{prefix}/stats", self._stats, prefix=True)
            server.route(f"{prefix}/graph/dot", self._dot)
            server.route(f"{prefix}/graph/csv", self._csv)
        server.route("/leader", self._leader)
        server.route("/", self._static)
        if os.path.isdir(WEBUI):
            for name in sorted(os.listdir(WEBUI)):
                server.route(f"/{name}", self._static)

    # --- plumbing ----------------------------------------------------------------------

    async def _call(self, request: HttpRequest, fn: Callable[[ChronosService], T]) -> T | HttpReply:
        service = self.service()
        if service is None:
            leader = self.leader()
            if leader is None or leader == self.me:  # none yet, or this one, still taking over
                raise HttpError(503, "no mesopy-chronos instance leads yet; try again shortly")
            return await forward(request, f"http://{leader}")
        try:
            return await asyncio.get_running_loop().run_in_executor(None, fn, service)
        except KeyError as e:
            raise HttpError(400, str(e.args[0]) if e.args else "no such job") from None
        except ValueError as e:  # JobError and the Runner's refusals
            raise HttpError(400, str(e)) from None

    @staticmethod
    def _name(request: HttpRequest, base: str) -> str:
        for prefix in PREFIXES:
            head = f"{prefix}/{base}/"
            if request.path.startswith(head):
                name = request.path[len(head):]
                if name and "/" not in name:
                    return name
        raise HttpError(404, f"no endpoint {request.path}")

    @staticmethod
    def _body(request: HttpRequest) -> Any:
        try:
            return json.loads(request.body or b"null")
        except ValueError as e:
            raise HttpError(400, f"job: the body is not JSON ({e})") from None

    @staticmethod
    def _reply(result: Any, status: int = 200) -> HttpReply:
        return result if isinstance(result, HttpReply) else json_reply(result, status)

    # --- routes --------------------------------------------------------------------------

    async def _jobs(self, request: HttpRequest) -> HttpReply:
        return self._reply(await self._call(request, lambda s: s.jobs()))

    async def _search(self, request: HttpRequest) -> HttpReply:
        terms = {k: request.query[k].lower() for k in ("name", "command", "any") if request.query.get(k)}

        def matches(job: dict[str, Any]) -> bool:
            fields = {"name": str(job["name"]).lower(), "command": str(job["command"]).lower()}
            return all((term in fields["name"] or term in fields["command"]) if key == "any" else term in fields[key]
                       for key, term in terms.items())

        return self._reply(await self._call(request, lambda s: [j for j in s.jobs() if matches(j)]))

    async def _put(self, request: HttpRequest, kind: str) -> HttpReply:
        body = self._body(request)
        result = await self._call(request, lambda s: s.put_job(body, kind))
        return result if isinstance(result, HttpReply) else HttpReply(status=204)

    async def _iso8601(self, request: HttpRequest) -> HttpReply:
        return await self._put(request, "iso8601")

    async def _dependency(self, request: HttpRequest) -> HttpReply:
        return await self._put(request, "dependency")

    async def _job(self, request: HttpRequest) -> HttpReply:
        if request.method == "GET" and any(request.path.startswith(f"{p}/job/stat/") for p in PREFIXES):
            name = self._name(request, "job/stat")
            return self._reply(await self._call(request, lambda s: s.stats(name)))
        if request.method == "PUT" and any(request.path.startswith(f"{p}/job/success/") for p in PREFIXES):
            name = self._name(request, "job/success")
            result = await self._call(request, lambda s: s.mark_success(name))
            return result if isinstance(result, HttpReply) else HttpReply(
                body=f"marked job {name} as successful: true".encode(), content_type="text/plain; charset=utf-8")
        name = self._name(request, "job")
        if request.method == "GET":
            return self._reply(await self._call(request, lambda s: s.job(name)))
        if request.method == "PUT":
            arguments = request.query.get("arguments", "").split()
            result = await self._call(request, lambda s: s.run_job(name, arguments))
        else:
            result = await self._call(request, lambda s: s.delete_job(name))
        return result if isinstance(result, HttpReply) else HttpReply(status=204)

    async def _kill(self, request: HttpRequest) -> HttpReply:
        name = self._name(request, "task/kill")
        result = await self._call(request, lambda s: s.kill_tasks(name))
        return result if isinstance(result, HttpReply) else HttpReply(status=204)

    async def _stats(self, request: HttpRequest) -> HttpReply:
        which = self._name(request, "stats")
        return self._reply(await self._call(request, lambda s: s.percentiles(which)))

    async def _graph(self, request: HttpRequest, render: Callable[[ChronosService], str]) -> HttpReply:
        result = await self._call(request, render)
        if isinstance(result, HttpReply):
            return result
        return HttpReply(body=result.encode(), content_type="text/plain; charset=utf-8")

    async def _dot(self, request: HttpRequest) -> HttpReply:
        return await self._graph(request, lambda s: s.graph("dot"))

    async def _csv(self, request: HttpRequest) -> HttpReply:
        return await self._graph(request, lambda s: s.graph("csv"))

    async def _leader(self, request: HttpRequest) -> HttpReply:
        leader = self.leader()
        if leader is None:
            raise HttpError(503, "no mesopy-chronos instance leads yet")
        return json_reply({"leader": leader})

    async def _static(self, request: HttpRequest) -> HttpReply:
        name = "index.html" if request.path == "/" else request.path.lstrip("/")
        path = os.path.join(WEBUI, name)
        if "/" in name or not os.path.isfile(path):
            if request.path == "/":
                return HttpReply(body=b"mesopy-chronos: the REST API is under /v1/scheduler/ (the web UI is not "
                                      b"installed)\n", content_type="text/plain; charset=utf-8")
            raise HttpError(404, f"no file {request.path}")
        with open(path, "rb") as f:
            body = f.read()
        return HttpReply(body=body, content_type=_TYPES.get(os.path.splitext(name)[1], "application/octet-stream"))
