"""The agent's HTTP authorization beyond the server's guard: access_sandboxes on the sandbox a path is
in (``/files/*`` and the v1 ``LIST_FILES`` / ``READ_FILE``), and what a principal may see of the
agent's frameworks, executors and tasks (``/state`` and the v1 ``GET_*`` calls)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from actors.agent.files import FilesError, SandboxFiles
from actors.entitlement import Entitlements
from actors.http_common import on_actor
from actors.security.acls import Acls
from actors.security.objects import executor_user, refusal
from actors.security.visibility import Viewer
from transport.http import HttpError

if TYPE_CHECKING:
    from actors.agent.process import AgentProcess
    from actors.agent.tasks import ExecutorEntry

__all__ = ["SandboxGuard", "framework_user", "visible_executors"]


class SandboxGuard:
    """``check(principal, path, kind)``: HttpError 403 naming the action unless access_sandboxes
    lets ``principal`` at the sandbox ``path`` is in (its executor's user; unknown above the
    sandboxes); refusals counted in ``refused`` as (``kind``, ``access_sandboxes_refused``)."""

    def __init__(self, agent: AgentProcess, files: SandboxFiles, acls: Acls, refused: Entitlements) -> None:
        self.agent = agent
        self.files = files
        self.acls = acls
        self.refused = refused

    async def check(self, principal: str | None, path: str, kind: str = "readonly") -> None:
        if not self.acls.restricts("access_sandboxes"):
            return
        try:
            real = await asyncio.get_running_loop().run_in_executor(None, self.files.resolve, path)
        except FilesError as e:
            raise HttpError(e.status, e.message) from None
        owner = self.files.sandbox_of(real)
        table = self.agent.table
        user = await on_actor(self.agent, lambda: table.sandbox_user(*owner)) if owner is not None else None
        text = refusal(self.acls, "access_sandboxes", principal, [user])
        if text:
            self.refused.refuse("http", kind, "access_sandboxes_refused")
            raise HttpError(403, text)


def framework_user(agent: AgentProcess, framework_id: str) -> str:
    fw = agent.table.frameworks.get(framework_id)
    return str(fw.info.get("user") or "") if fw is not None else ""


def visible_executors(agent: AgentProcess, seen: Viewer | None) -> list[ExecutorEntry]:
    """On the agent's thread: the executors ``seen`` (None: everyone) may see (view_frameworks on
    their framework's user, view_executors on theirs); their tasks are then each ``seen.task``'s."""
    return [e for e in agent.table.executors.values()
            if seen is None or seen.executor(framework_user(agent, e.framework_id), executor_user(e.info, ""))]
