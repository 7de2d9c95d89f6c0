"""The HTTP client side of ``mesopy``: the master's and agents' endpoints, task
lookup by id prefix, and reading a task's sandbox files through its agent.
Blocking (urllib), for a command-line tool.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from transport.errors import TransportError
from transport.tls import client_context

__all__ = ["TERMINAL", "ClientError", "MesopyClient", "base_url", "pick_task"]

TERMINAL = frozenset({"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED",
                      "TASK_GONE", "TASK_GONE_BY_OPERATOR"})
ALL_TASKS = 100_000  # the master's largest /master/tasks page


class ClientError(Exception):
    """What went wrong, in a sentence for the user."""


def base_url(address: str) -> str:
    """``host:port`` or a URL -> ``http://host:port`` (no trailing slash); ClientError if neither."""
    text = address.strip()
    if not text:
        raise ClientError("--master is empty; give the master's HTTP address, e.g. --master=127.0.0.1:5040")
    if "://" not in text:
        text = "http://" + text
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ClientError(f"--master {address!r} is not host:port or an http:// URL")
    try:
        parsed.port
    except ValueError:
        raise ClientError(f"--master {address!r} has a bad port") from None
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path.rstrip('/')}"


def pick_task(tasks: list[dict[str, Any]], name: str, kind: str = "task") -> dict[str, Any]:
    """The task (or framework: ``kind``) whose id is ``name``, else the one whose id starts
    with it; ClientError naming the candidates when none or several match."""
    exact = [t for t in tasks if t.get("id") == name]
    matches = exact or [t for t in tasks if str(t.get("id", "")).startswith(name)]
    ids = sorted({str(t.get("id")) for t in matches})
    if len(ids) == 1:
        # the same id in several frameworks: the newest (the master lists newest first)
        return matches[0]
    if not ids:
        raise ClientError(f"no {kind} with an id starting with {name!r}")
    shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    raise ClientError(f"{kind} id prefix {name!r} is ambiguous: {shown}")


class MesopyClient:
    def __init__(self, master: str, timeout: float = 10.0, principal: str = "", secret: str = "",
                 ca_file: str = "") -> None:
        """With ``principal`` every request carries HTTP Basic credentials (``--authenticate_http_*``).
        An https:// master (and its agents) is checked against ``ca_file`` (PEM), else Mesos'
        ``LIBPROCESS_SSL_CA_FILE``, else the system's CAs."""
        self.master = base_url(master)
        self.timeout = timeout
        try:
            self._tls = client_context(ca_file)
        except TransportError as e:
            raise ClientError(str(e)) from None
        self._headers = {"Authorization": "Basic " + base64.b64encode(f"{principal}:{secret}".encode()).decode()} \
            if principal else {}

    def get(self, base: str, path: str, params: Mapping[str, Any] | None = None, *, method: str = "GET",
            body: Any = None) -> Any:
        """The JSON answer of ``method`` (GET; or POST / DELETE with a JSON ``body``) of ``path``."""
        url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout,
                                        context=self._tls if url.startswith("https:") else None) as response:
                body = response.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace").strip()
            raise ClientError(f"{url}: HTTP {e.code}: {detail or e.reason}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ClientError(f"cannot reach {url}: {reason}") from None
        try:
            return json.loads(body)
        except ValueError:
            raise ClientError(f"{url} did not answer JSON (is it the master's HTTP port?)") from None

    # --- the master ------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return dict(self.get(self.master, "/master/state"))

    def agents(self) -> list[dict[str, Any]]:
        return list(self.get(self.master, "/master/slaves")["slaves"])

    def frameworks(self) -> list[dict[str, Any]]:
        return list(self.get(self.master, "/master/frameworks")["frameworks"])

    def tasks(self, include_ended: bool) -> list[dict[str, Any]]:
        tasks = self.get(self.master, "/master/tasks", {"limit": ALL_TASKS})["tasks"]
        return [t for t in tasks if include_ended or t.get("state") not in TERMINAL]

    def task(self, name: str) -> dict[str, Any]:
        return pick_task(self.tasks(include_ended=True), name)

    def task_state(self, task: dict[str, Any]) -> str:
        found = self.get(self.master, "/master/tasks", {"task_id": task["id"], "framework_id": task["framework_id"]})
        return str(found["tasks"][0]["state"]) if found["tasks"] else "TASK_UNKNOWN"

    # --- sandboxes -----------------------------------------------------------------

    def agent_url(self, agent_id: str) -> str:
        for agent in self.agents():
            if agent.get("id") == agent_id:
                address = agent.get("address") or {}
                if not address.get("port"):
                    raise ClientError(f"agent {agent_id} serves no HTTP (started with --no-http?)")
                scheme = urllib.parse.urlparse(self.master).scheme  # a TLS cluster serves TLS on every port
                return f"{scheme}://{address.get('ip') or address.get('hostname')}:{address['port']}"
        raise ClientError(f"agent {agent_id} is not registered with the master")

    @staticmethod
    def sandbox_path(task: dict[str, Any], file: str) -> str:
        """Mesos' virtual path of a file in the task's executor's latest sandbox."""
        executor = task.get("executor_id") or task["id"]
        return f"/frameworks/{task['framework_id']}/executors/{executor}/runs/latest/{file.lstrip('/')}"

    def read(self, agent: str, path: str, offset: int, length: int | None = None) -> tuple[int, str]:
        """(offset, data) of /files/read; offset -1 asks for the size."""
        params: dict[str, Any] = {"path": path, "offset": offset}
        if length is not None:
            params["length"] = length
        reply = self.get(agent, "/files/read", params)
        return int(reply["offset"]), str(reply["data"])
