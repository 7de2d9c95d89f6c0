"""``PUT /v2/apps``: many app definitions created or replaced at once, all or none (pure, on
MarathonCore)."""

from __future__ import annotations

from typing import Any

from frameworks.marathon.appdef import normalize_id
from frameworks.marathon.core import MarathonCore
from frameworks.marathon.deployments import Deployment
from frameworks.marathon.errors import ValidationError

__all__ = ["update_apps"]


def update_apps(core: MarathonCore, bodies: Any, now: float, *, force: bool) -> list[Deployment]:
    """``PUT /v2/apps``: create or replace each definition of the list ``bodies``, all or
    none: every one is checked (422 naming its index, 409 for a deployment in the way)
    before the first change. One deployment per app, all of the same version."""
    if not isinstance(bodies, list) or not bodies:
        raise ValidationError([("/", "a non-empty JSON list of app definitions, each with its id")])
    planned: list[tuple[dict[str, Any] | None, dict[str, Any]]] = []
    for i, body in enumerate(bodies):
        try:
            app_id = normalize_id(body.get("id") if isinstance(body, dict) else None)
            other = next((a["id"] for _, a in planned if a["id"] == app_id or a["id"].startswith(app_id + "/")
                          or app_id.startswith(a["id"] + "/")), None)
            if other is not None:
                raise ValidationError([("/id", f"{app_id} is given twice, or is a group of {other} or under it")])
            previous = core.apps.get(app_id)
            planned.append((previous, core.new_app(body) if previous is None
                            else core.updated(previous, body, partial=False)))
        except ValidationError as e:
            raise ValidationError([(f"/({i}){path}", error) for path, error in e.details]) from None
    for previous, app in planned:
        if previous is not None and not force:
            core.check_free(app["id"], False, now)
    out = []
    for previous, app in planned:
        if previous is None:
            out.append(core.create(app, now)[1])
        else:
            core.check_free(app["id"], True, now)
            out.append(core.change(previous, app, now))
    return out
