"""The operator's calls on the master actor (quota, drain / deactivate / reactivate, volumes,
reservations), mixed into MasterProcess; they run on its thread (the HTTP routes and /api/v1 call them)."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from actors.allocator.errors import AllocatorError
from actors.master import drain
from actors.master.model import Effect
from actors.master.operations import ReservationError, operator_commit, operator_plan, operator_volumes
from actors.master.quota import quota_status, update_quota
from actors.master.quota_json import QuotaError, parse_quota_body, quotas_to_text
from actors.process import Process
from actors.resources import EMPTY

if TYPE_CHECKING:
    from actors.master.config import MasterConfig
    from actors.master.core import MasterCore

__all__ = ["OPERATOR_ATTEMPTS", "OperatorCallsMixin", "write_atomically"]

OPERATOR_ATTEMPTS = 5  # tries of an operator's reserve / unreserve against allocations in flight


class OperatorCallsMixin(Process):
    """Needs the MasterProcess attributes below; ``_apply`` and ``on_allocator`` are MasterProcess's."""

    config: MasterConfig
    core: MasterCore
    allocator_core: Any

    if TYPE_CHECKING:
        def _apply(self, effects: list[Effect]) -> None: ...

        def on_allocator(self, fn: Callable[[], None]) -> None: ...

    def get_quota(self) -> dict[str, Any]:
        """GET_QUOTA: Mesos' QuotaStatus (``infos`` and ``configs``)."""
        return quota_status(self.core)

    def update_quota(self, body: Any) -> dict[str, Any]:
        """UPDATE_QUOTA (or a v0 QuotaRequest): apply, persist to ``--quota``, return the new
        status; QuotaError (its message for the operator) if refused."""
        configs, force = parse_quota_body(body)
        out: list[Effect] = []
        update_quota(self.core, configs, force, self.clock.now(), out)
        self.log.info("quota_updated", roles=[r for r, _ in configs], force=force)
        self._apply(out)
        if self.config.quota:
            try:
                write_atomically(self.config.quota, quotas_to_text(self.core.quotas))
            except OSError as e:
                self.log.error("quota_file_write_failed", path=self.config.quota, error=str(e))
                raise QuotaError(f"the quota is set, but --quota file {self.config.quota!r} could not be "
                                 f"written ({e.strerror or e}): a restarted master will not have it") from None
        return quota_status(self.core)

    def remove_quota(self, role: str) -> dict[str, Any]:
        """v0 ``DELETE /quota/<role>``: the role's quota removed (QuotaError if it has none)."""
        if role not in self.core.quotas:
            raise QuotaError(f"role {role!r} has no quota")
        return self.update_quota({"quota_configs": [{"role": role}], "force": True})

    def drain_agent(self, agent_id: str, max_grace_period: Any = None, mark_gone: bool = False) -> dict[str, Any]:
        """DRAIN_AGENT: no more offers for the agent, its tasks killed (grace capped by
        ``max_grace_period``: seconds or ``{"nanoseconds": n}``); DrainError if refused."""
        return self._agent_call(lambda out: drain.drain(self.core, agent_id, max_grace_period, mark_gone,
                                                        self.clock.now(), out), agent_id)

    def deactivate_agent(self, agent_id: str) -> dict[str, Any]:
        """DEACTIVATE_AGENT: no more offers for the agent; its tasks keep running."""
        return self._agent_call(lambda out: drain.deactivate(self.core, agent_id, self.clock.now(), out), agent_id)

    def reactivate_agent(self, agent_id: str) -> dict[str, Any]:
        """REACTIVATE_AGENT: offers again (a drain in progress stops)."""
        return self._agent_call(lambda out: drain.reactivate(self.core, agent_id, self.clock.now(), out), agent_id)

    def _agent_call(self, fn: Callable[[list[Effect]], None], agent_id: str) -> dict[str, Any]:
        out: list[Effect] = []
        fn(out)
        self._apply(out)
        agent = self.core.agents.get(agent_id)
        return {"agent_id": {"value": agent_id}, "deactivated": agent.deactivated if agent else True,
                "drain_info": agent.drain_info if agent else {"state": "DRAINED", "gone": True}}

    def create_volumes(self, agent_id: str, volumes: Any) -> dict[str, Any]:
        """CREATE_VOLUMES (v0 ``/create-volumes``): persistent volumes of the agent's free,
        dynamically reserved disk. VolumeError if refused."""
        return self._volumes_call(agent_id, volumes, True)

    def destroy_volumes(self, agent_id: str, volumes: Any) -> dict[str, Any]:
        """DESTROY_VOLUMES (v0 ``/destroy-volumes``): the volumes, if no task uses them."""
        return self._volumes_call(agent_id, volumes, False)

    def _volumes_call(self, agent_id: str, volumes: Any, create: bool) -> dict[str, Any]:
        out: list[Effect] = []
        ids = operator_volumes(self.core, agent_id, volumes, create, self.clock.now(), out)
        self._apply(out)
        return {"agent_id": {"value": agent_id}, "created" if create else "destroyed": ids}

    def reserve_resources(self, agent_id: str, resources: Any) -> Future[dict[str, Any]]:
        """RESERVE_RESOURCES (v0 ``/reserve``): dynamically reserve unallocated ``resources``
        (dicts with their ``reservations``) on the agent. ReservationError at once if invalid;
        the future fails with ReservationError if the allocator has them allocated meanwhile."""
        return self._operator_conversion(agent_id, resources, True)

    def unreserve_resources(self, agent_id: str, resources: Any) -> Future[dict[str, Any]]:
        """UNRESERVE_RESOURCES (v0 ``/unreserve``): the reverse of ``reserve_resources``."""
        return self._operator_conversion(agent_id, resources, False)

    def _operator_conversion(self, agent_id: str, items: Any, reserve: bool) -> Future[dict[str, Any]]:
        future: Future[dict[str, Any]] = Future()
        self._operator_attempt(agent_id, items, reserve, future, OPERATOR_ATTEMPTS)
        return future

    def _operator_attempt(self, agent_id: str, items: Any, reserve: bool, future: Future[dict[str, Any]],
                          left: int) -> None:
        """Rescind the agent's offers as needed, then convert on the allocator's thread. An
        allocation made meanwhile (its offers not yet here) fails the update: the offers reach
        this thread first, so the next attempt rescinds them too."""
        out: list[Effect] = []
        try:
            conversions = operator_plan(self.core, agent_id, items, reserve, self.clock.now(), out)
        except ReservationError as e:
            if left == OPERATOR_ATTEMPTS:
                raise  # invalid: the caller hears at once
            future.set_exception(e)
            return
        self._apply(out)  # rescinded offers are recovered in the allocator before the update below
        consumed = sum((c.consumed for c in conversions), EMPTY)
        converted = sum((c.converted for c in conversions), EMPTY)
        alloc_core = self.allocator_core

        def commit() -> None:
            effects: list[Effect] = []
            operator_commit(self.core, agent_id, conversions, reserve, effects)
            self._apply(effects)
            future.set_result({"agent_id": agent_id, "resources": converted.to_dicts()})

        def update() -> None:  # on the allocator's thread, the allocator's truth decides
            try:
                alloc_core.update_available(agent_id, consumed, converted)
            except AllocatorError as e:
                if left > 1:
                    self.run(self._operator_attempt, agent_id, items, reserve, future, left - 1)
                else:
                    future.set_exception(ReservationError(f"{e}; they were offered meanwhile, retry"))
                return
            self.run(commit)

        self.on_allocator(update)


def write_atomically(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves the old or the new file, whole."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
