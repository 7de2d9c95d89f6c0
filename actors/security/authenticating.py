"""Authentication for a process that registers with a master (mixed into the scheduler driver's
and the agent's actors): the shell around ``actors.security.client.Authenticatee``.

The process calls ``_authenticate_before_registering()`` where it would send a
registration: it returns False when the registration may go (no credential, or
already authenticated with the current master), else it has sent (or is
waiting on) an Authenticate. The exchange's messages are accepted only from
the current master. On success ``_authenticated()`` runs (register now); on a
refusal ``_authentication_refused(message)``.
"""

from __future__ import annotations

from typing import Any

from actors.process import Process
from actors.security.client import Authenticatee
from transport.messages import AuthenticationChallenge, AuthenticationCompleted, AuthenticationFailed
from transport.pid import PID

__all__ = ["AuthenticatingMixin"]


class AuthenticatingMixin(Process):
    master: PID | None
    authenticatee: Authenticatee | None = None

    def _install_authentication(self, principal: str | None, secret: str | None) -> None:
        """Call in ``initialize``; without a secret the process never authenticates."""
        self.authenticatee = Authenticatee(principal, secret) if principal and secret is not None else None
        self.install(AuthenticationChallenge, self._auth_challenge)
        self.install(AuthenticationCompleted, self._auth_completed)
        self.install(AuthenticationFailed, self._auth_failed)

    def _authenticated(self) -> None:
        raise NotImplementedError

    def _authentication_refused(self, message: str) -> None:
        raise NotImplementedError

    def _authenticate_before_registering(self) -> bool:
        auth, master = self.authenticatee, self.master
        if auth is None or master is None or not auth.needed(str(master)):
            return False
        now = self.clock.now()
        if not auth.in_progress(str(master), now):
            self.log.info("authenticating", master=str(master), principal=auth.principal)
            self.send(master, auth.start(str(self.pid), str(master), now))
        return True

    def _forget_authentication(self) -> None:
        """The master was lost or changed: authenticate again before the next registration."""
        if self.authenticatee is not None:
            self.authenticatee.reset()

    def _from_current_master(self, sender: PID, msg: Any) -> bool:
        if self.master is not None and sender == self.master:
            return True
        self.counters.incr("dropped", "not_current_master")
        self.log.info("message_ignored", reason="not_current_master", type=type(msg).__name__, sender=str(sender))
        return False

    def _auth_challenge(self, sender: PID, msg: AuthenticationChallenge) -> None:
        if self.authenticatee is None or not self._from_current_master(sender, msg):
            return
        reply = self.authenticatee.response(str(sender), msg)
        if reply is not None:
            self.send(sender, reply)

    def _auth_completed(self, sender: PID, msg: AuthenticationCompleted) -> None:
        if self.authenticatee is None or not self._from_current_master(sender, msg):
            return
        if not self.authenticatee.completed(str(sender), msg):
            self.authenticatee.failed()
            self.log.error("master_authentication_unproven", master=str(sender))
            self._authentication_refused(f"master {sender} did not prove that it knows the secret")
            return
        self.log.info("authenticated", master=str(sender), principal=self.authenticatee.principal)
        self._authenticated()

    def _auth_failed(self, sender: PID, msg: AuthenticationFailed) -> None:
        if not self._from_current_master(sender, msg):
            return
        if self.authenticatee is not None:
            self.authenticatee.failed()
        self.log.error("authentication_refused", master=str(sender), message=msg.message)
        self._authentication_refused(msg.message)
