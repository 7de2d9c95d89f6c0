"""The local cluster's own process, asking its masters for their state (``LocalCluster.state()``,
``.leader()``): a client like any other, so with security on it authenticates (the HMAC exchange of
actors/security/exchange.py) with each master that refuses its MasterStateRequest as
unauthenticated, then asks again. A standby answers who leads without that (it authenticates no one).

One ``Authenticatee`` (the pure core) per master pid, the newest ``MAX_MASTERS`` kept (a restarted
master has a new port, so a new pid); a master that forgot us refuses again and is authenticated
with again, once per request."""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import Future
from typing import Any

from actors.errors import RemoteError
from actors.master.config import MasterConfig
from actors.node import Node
from actors.process import Process
from actors.security.client import Authenticatee
from transport.messages import (
    AuthenticationChallenge,
    AuthenticationCompleted,
    AuthenticationFailed,
    MasterState,
    MasterStateRequest,
)
from transport.pid import PID

__all__ = ["MAX_MASTERS", "ClusterClient", "cluster_credential", "spawn_cluster_client"]

MAX_MASTERS = 32
_UNAUTHENTICATED = "needs an authenticated peer"


class ClusterClient(Process):
    """Asks masters for their state; with ``credential`` (principal, secret) it authenticates first."""

    def __init__(self, node: Node, name: str, holder: list[ClusterClient],
                 credential: tuple[str, str] | None = None) -> None:
        super().__init__(node, name)
        self._credential = credential
        self._logins: OrderedDict[str, Authenticatee] = OrderedDict()  # our thread only
        self._waiting: dict[str, list[Future[None]]] = {}
        self.install(AuthenticationChallenge, self._challenge)
        self.install(AuthenticationCompleted, self._completed)
        self.install(AuthenticationFailed, self._failed)
        holder.append(self)

    def state(self, master: PID, timeout: float) -> dict[str, Any]:
        """``master``'s state (any thread); RuntimeError/RemoteError/TimeoutError when it cannot be had."""
        if self.node.public_key:  # our masters share the cluster node's key pair
            self.node.pin(master.address, self.node.public_key)
        for attempt in (1, 2):
            if attempt == 2:  # refused as unauthenticated: authenticate, then ask again
                self.authenticate(master).result(timeout)
            try:
                reply = self.request(master, MasterStateRequest(), timeout=timeout).result(timeout + 1)
            except RemoteError as e:
                if self._credential is None or _UNAUTHENTICATED not in str(e) or attempt == 2:
                    raise
                self.run(self._forget, str(master))  # new to us, or it forgot us
                continue
            if not isinstance(reply, MasterState):
                raise RuntimeError(f"master answered {type(reply).__name__}, not MasterState")
            return dict(reply.state)
        raise AssertionError("unreachable")

    def authenticate(self, master: PID) -> Future[None]:
        """A future settled once ``master`` has authenticated us (any thread); RuntimeError if refused."""
        future: Future[None] = Future()
        self.run(self._authenticate, master, future)
        return future

    # --- on our thread ----------------------------------------------------------------

    def _authenticate(self, master: PID, future: Future[None]) -> None:
        assert self._credential is not None
        key, now = str(master), self.clock.now()
        login = self._logins.get(key)
        if login is None:
            login = self._logins[key] = Authenticatee(*self._credential)
            while len(self._logins) > MAX_MASTERS:
                gone, _ = self._logins.popitem(last=False)
                self._settle(gone, RuntimeError(f"{gone}: forgotten (more than {MAX_MASTERS} masters asked)"))
        self._logins.move_to_end(key)
        if login.authenticated_with == key:
            future.set_result(None)
            return
        if not login.in_progress(key, now):
            self._settle(key, TimeoutError(f"master {key} did not end an earlier authentication"))
            self.log.info("authenticating", master=key, principal=login.principal)
            self.send(master, login.start(str(self.pid), key, now))
        self._waiting.setdefault(key, []).append(future)

    def _forget(self, master: str) -> None:
        login = self._logins.get(master)
        if login is not None:
            login.reset()

    def _settle(self, master: str, error: Exception | None) -> None:
        for future in self._waiting.pop(master, []):
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(None)

    def _challenge(self, sender: PID, msg: AuthenticationChallenge) -> None:
        login = self._logins.get(str(sender))
        reply = login.response(str(sender), msg) if login is not None else None
        if reply is not None:
            self.send(sender, reply)

    def _completed(self, sender: PID, msg: AuthenticationCompleted) -> None:
        login = self._logins.get(str(sender))
        if login is None:
            return
        if login.completed(str(sender), msg):
            self.log.info("authenticated", master=str(sender), principal=login.principal)
            self._settle(str(sender), None)
            return
        login.reset()
        self.log.error("master_authentication_unproven", master=str(sender))
        self._settle(str(sender), RuntimeError(f"master {sender} did not prove that it knows the secret"))

    def _failed(self, sender: PID, msg: AuthenticationFailed) -> None:
        login = self._logins.get(str(sender))
        if login is None or not login.refused(str(sender), msg.message):
            return
        login.reset()  # try again on the next request
        self.log.warning("authentication_refused", master=str(sender), message=msg.message)
        self._settle(str(sender), RuntimeError(f"master {sender} refused authentication as "
                                               f"{login.principal!r}: {msg.message}"))


def spawn_cluster_client(node: Node, credential: tuple[str, str] | None,
                         name: str = "local-cluster") -> ClusterClient:
    """Start a client process (the cluster's own is "local-cluster") on ``node``."""
    holder: list[ClusterClient] = []
    ClusterClient.spawn(node, name, holder, credential)
    return holder[0]


def cluster_credential(config: MasterConfig, operator: tuple[str, str] | None) -> tuple[str, str] | None:
    """What the cluster's client authenticates as: ``operator`` (a secure cluster's generated one),
    else the first principal of the masters' ``--credentials`` file given as a flag, else none."""
    if operator is not None:
        return operator
    credentials, _ = config.load_security()
    first = next(iter(credentials.values()), None)
    return (first.principal, first.secret) if first is not None else None
