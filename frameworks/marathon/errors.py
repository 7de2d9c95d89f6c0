"""Marathon's API errors: each maps to the HTTP status and JSON body Marathon answers with."""

from __future__ import annotations

from typing import Any

__all__ = ["AppNotFound", "Conflict", "MarathonError", "ValidationError"]


class MarathonError(Exception):
    """An API error: ``status`` and the JSON ``body`` (``{"message": ...}``) to answer with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"message": self.message}


class ValidationError(MarathonError):
    """422 ``{"message": "Object is not valid", "details": [{"path": "/cpus", "errors": [...]}]}``."""

    status = 422

    def __init__(self, details: list[tuple[str, str]]) -> None:
        self.details = details
        super().__init__("Object is not valid: " + "; ".join(f"{p}: {e}" for p, e in details))

    def body(self) -> dict[str, Any]:
        grouped: dict[str, list[str]] = {}
        for path, error in self.details:
            grouped.setdefault(path, []).append(error)
        return {"message": "Object is not valid",
                "details": [{"path": p, "errors": errs} for p, errs in grouped.items()]}


class AppNotFound(MarathonError):
    status = 404

    def __init__(self, what: str) -> None:
        super().__init__(what)


class Conflict(MarathonError):
    """409: an app that exists already, or a deployment in the way (``deployments`` lists them)."""

    status = 409

    def __init__(self, message: str, deployments: list[str] | None = None) -> None:
        super().__init__(message)
        self.deployments = deployments or []

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.deployments:
            out["deployments"] = [{"id": d} for d in self.deployments]
        return out
