"""Authentication for a process that registers with a master (mixed into the scheduler driver's
and the agent's actors): the shell around ``actors.security.client.Authenticatee``.

The process calls ``_authenticate_before_registering()`` where it would send a
registration: it returns False when the registration may go (no credential, or
already authenticated with the current master), else it has sent (or is
waiting on) an Authenticate. The exchange's messages are accepted only from
the current master. On success ``_authenticated()`` runs (register now). When
the master refuses, the client registers unauthenticated all the same
(``_authenticated()`` too): the master refuses that as well when it requires
authentication, and its error then names why the exchange failed
(``_authentication_note``); pymesos' credentials work so. When the master
cannot prove it knows the secret, ``_master_unproven(message)``: do not register.
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
        """Call before the first registration; without a secret the process never authenticates."""
        self.authenticatee = Authenticatee(principal, secret) if principal and secret is not None else None
        self.install(AuthenticationChallenge, self._auth_challenge)
        self.install(AuthenticationCompleted, self._auth_completed)
        self.install(AuthenticationFailed, self._auth_failed)

    def _authenticated(self) -> None:
        raise NotImplementedError

    def _master_unproven(self, message: str) -> None:
        raise NotImplementedError

    def _authentication_note(self, message: str) -> str:
        """``message`` (a refusal of our registration) with why our authentication failed, if it did."""
        auth = self.authenticatee
        if auth is None or not auth.refusal:
            return message
        return f"{message} (authentication as {auth.principal!r} was refused: {auth.refusal})"

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
            self.authenticatee.reset()
            self.log.error("master_authentication_unproven", master=str(sender))
            self._master_unproven(f"master {sender} did not prove that it knows the secret")
            return
        self.log.info("authenticated", master=str(sender), principal=self.authenticatee.principal)
        self._authenticated()

    def _auth_failed(self, sender: PID, msg: AuthenticationFailed) -> None:
        if not self._from_current_master(sender, msg):
            return
        self.log.warning("authentication_refused", master=str(sender), message=msg.message)
        if self.authenticatee is not None and self.authenticatee.refused(str(sender), msg.message):
            self._authenticated()  # register unauthenticated: the master decides
        # else a refused registration: the registration timer tries again, with backoff
