"""The v1 operator API's calls for quota, reservations, volumes and draining
(``GET_QUOTA``, ``UPDATE_QUOTA``, ``RESERVE_RESOURCES``, ``UNRESERVE_RESOURCES``,
``CREATE_VOLUMES``, ``DESTROY_VOLUMES``, ``DRAIN_AGENT``, ``DEACTIVATE_AGENT``,
``REACTIVATE_AGENT``), registered in ``MASTER_CALLS``. Each calls the same
``MasterProcess`` method as the v0 endpoint (actors/master/operator_http.py); a
refusal is 400 with its reason, an ACL's 403 naming the action (the v0
endpoints' checks). As in Mesos, the reservation and volume calls
answer 202 once validated (the master applies them right after).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import structlog

from actors.master.http_operator import ACCEPTED_CALLS, OperatorContext, master_call
from actors.master.http_security import quota_seen
from actors.master.operator_http import OPERATOR_ERRORS, authorize_quota, authorize_resources
from transport.http import HttpError

__all__ = ["ALLOCATION_CALLS"]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]

ALLOCATION_CALLS = ("GET_QUOTA", "UPDATE_QUOTA", "RESERVE_RESOURCES", "UNRESERVE_RESOURCES", "CREATE_VOLUMES",
                    "DESTROY_VOLUMES", "DRAIN_AGENT", "DEACTIVATE_AGENT", "REACTIVATE_AGENT")
ACCEPTED_CALLS.update({"RESERVE_RESOURCES", "UNRESERVE_RESOURCES", "CREATE_VOLUMES", "DESTROY_VOLUMES"})


def _body(call: Dict) -> Dict:
    """The call's own object (``{"type": "DRAIN_AGENT", "drain_agent": {...}}`` -> ``{...}``)."""
    field = call["type"].lower()
    body = call.get(field)
    if not isinstance(body, dict):
        raise HttpError(400, f"'{field}' (an object) is required for {call['type']}")
    return body


def _agent_id(body: Dict, field: str) -> str:
    aid = body.get("agent_id")
    aid = aid.get("value") if isinstance(aid, dict) else None
    if not isinstance(aid, str) or not aid:
        raise HttpError(400, f"'{field}.agent_id' ({{\"value\": id}}) is required")
    return aid


def _refusals_are_400(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except OPERATOR_ERRORS as e:
        raise HttpError(400, str(e)) from None


def _logged(kind: str, future: Future[Any]) -> None:
    """A reservation the allocator refused after the 202 is logged (the operator sees it in the state)."""
    def done(f: Future[Any]) -> None:
        if f.exception() is not None:
            log.warning("operator_call_failed", call=kind, error=str(f.exception()))
    future.add_done_callback(done)


@master_call("GET_QUOTA")
def _get_quota(ctx: OperatorContext, call: Dict) -> Dict:
    return {"status": quota_seen(ctx.core, ctx.principal, ctx.master.get_quota())}


@master_call("UPDATE_QUOTA")
def _update_quota(ctx: OperatorContext, call: Dict) -> None:
    authorize_quota(ctx.master, ctx.principal, _body(call))
    _refusals_are_400(lambda: ctx.master.update_quota(_body(call)))


def _conversion(reserve: bool) -> Callable[[OperatorContext, Dict], None]:
    def run(ctx: OperatorContext, call: Dict) -> None:
        body = _body(call)
        aid = _agent_id(body, call["type"].lower())
        authorize_resources(ctx.master, "reserve_resources" if reserve else "unreserve_resources", ctx.principal,
                            body.get("resources"))
        method = ctx.master.reserve_resources if reserve else ctx.master.unreserve_resources
        _logged(call["type"], _refusals_are_400(lambda: method(aid, body.get("resources"))))
    return run


def _volumes(create: bool) -> Callable[[OperatorContext, Dict], None]:
    def run(ctx: OperatorContext, call: Dict) -> None:
        body = _body(call)
        aid = _agent_id(body, call["type"].lower())
        authorize_resources(ctx.master, "create_volumes" if create else "destroy_volumes", ctx.principal,
                            body.get("volumes"))
        method = ctx.master.create_volumes if create else ctx.master.destroy_volumes
        _refusals_are_400(lambda: method(aid, body.get("volumes")))
    return run


master_call("RESERVE_RESOURCES")(_conversion(True))
master_call("UNRESERVE_RESOURCES")(_conversion(False))
master_call("CREATE_VOLUMES")(_volumes(True))
master_call("DESTROY_VOLUMES")(_volumes(False))


@master_call("DRAIN_AGENT")
def _drain(ctx: OperatorContext, call: Dict) -> None:
    body = _body(call)
    aid = _agent_id(body, "drain_agent")
    _refusals_are_400(lambda: ctx.master.drain_agent(aid, body.get("max_grace_period"),
                                                     bool(body.get("mark_gone", False))))


@master_call("DEACTIVATE_AGENT")
def _deactivate(ctx: OperatorContext, call: Dict) -> None:
    aid = _agent_id(_body(call), "deactivate_agent")
    _refusals_are_400(lambda: ctx.master.deactivate_agent(aid))


@master_call("REACTIVATE_AGENT")
def _reactivate(ctx: OperatorContext, call: Dict) -> None:
    aid = _agent_id(_body(call), "reactivate_agent")
    _refusals_are_400(lambda: ctx.master.reactivate_agent(aid))
