"""The authentication exchange's pure cores: master side (Authenticator), client side (Authenticatee)."""

from __future__ import annotations

import itertools

import pytest

from actors.security.client import Authenticatee
from actors.security.credentials import Credential, CredentialsError, load_credential, parse_credentials
from actors.security.exchange import AUTHENTICATION_TIMEOUT, Authenticator, Challenge, Completed, Failed, proof
from transport import messages as m

MASTER = "master@127.0.0.1:5050"
CLIENT = "scheduler(1)@127.0.0.1:6000"
CREDS = {"fw": Credential("fw", "s3cret")}


def nonces():
    counter = itertools.count()
    return lambda n: next(counter).to_bytes(n, "big")


def run(auth: Authenticator, client: Authenticatee, pid: str = CLIENT, now: float = 0.0):
    start = client.start(pid, MASTER, now)
    challenge = auth.start(pid, start.principal, start.mechanism, start.nonce, b"S" * 32, now)
    assert isinstance(challenge, Challenge)
    response = client.response(MASTER, m.AuthenticationChallenge(nonce=challenge.nonce))
    assert response is not None
    return response, auth.respond(pid, response.proof, now)


def test_right_secret_authenticates_both_ways():
    auth = Authenticator(CREDS, MASTER)
    client = Authenticatee("fw", "s3cret", nonces())
    _, result = run(auth, client)
    assert isinstance(result, Completed) and result.principal == "fw"
    assert auth.principal(CLIENT) == "fw"
    assert client.completed(MASTER, m.AuthenticationCompleted(proof=result.proof))
    assert not client.needed(MASTER) and client.needed("master@127.0.0.1:5051")


def test_wrong_secret_and_unknown_principal_fail_alike():
    auth = Authenticator(CREDS, MASTER)
    _, wrong = run(auth, Authenticatee("fw", "guess", nonces()))
    _, unknown = run(auth, Authenticatee("nobody", "x", nonces()))
    assert isinstance(wrong, Failed) and wrong.reason == "wrong_proof"
    assert isinstance(unknown, Failed) and unknown.reason == "unknown_principal"
    assert "s3cret" not in wrong.message and auth.principal(CLIENT) is None


def test_the_secret_never_travels():
    client = Authenticatee("fw", "s3cret", nonces())
    start = client.start(CLIENT, MASTER, 0.0)
    response = client.response(MASTER, m.AuthenticationChallenge(nonce=b"S" * 32))
    for msg in (start, response):
        assert b"s3cret" not in repr(msg).encode() and b"s3cret" not in (getattr(msg, "proof", b"") or b"")


def test_a_replayed_response_fails():
    auth = Authenticator(CREDS, MASTER)
    response, first = run(auth, Authenticatee("fw", "s3cret", nonces()))
    assert isinstance(first, Completed)
    auth.forget(CLIENT)
    again = auth.respond(CLIENT, response.proof, 0.0)  # no exchange in progress
    assert isinstance(again, Failed) and again.reason == "no_exchange"
    # a fresh exchange has a fresh master nonce: the recorded proof does not answer it
    auth.start(CLIENT, "fw", "HMAC-SHA256-1", b"\x00" * 32, b"T" * 32, 1.0)
    replay = auth.respond(CLIENT, response.proof, 1.0)
    assert isinstance(replay, Failed) and auth.principal(CLIENT) is None


def test_a_proof_is_bound_to_the_pid_it_was_made_for():
    auth = Authenticator(CREDS, MASTER)
    other = "scheduler(2)@127.0.0.1:6001"
    client = Authenticatee("fw", "s3cret", nonces())
    start = client.start(CLIENT, MASTER, 0.0)
    auth.start(other, start.principal, start.mechanism, start.nonce, b"S" * 32, 0.0)
    response = client.response(MASTER, m.AuthenticationChallenge(nonce=b"S" * 32))
    assert response is not None
    result = auth.respond(other, response.proof, 0.0)
    assert isinstance(result, Failed) and auth.principal(other) is None


def test_late_response_and_bad_mechanism_fail():
    auth = Authenticator(CREDS, MASTER)
    client = Authenticatee("fw", "s3cret", nonces())
    start = client.start(CLIENT, MASTER, 0.0)
    auth.start(CLIENT, "fw", start.mechanism, start.nonce, b"S" * 32, 0.0)
    response = client.response(MASTER, m.AuthenticationChallenge(nonce=b"S" * 32))
    late = auth.respond(CLIENT, response.proof, AUTHENTICATION_TIMEOUT + 1)
    assert isinstance(late, Failed) and late.reason == "expired"
    bad = auth.start(CLIENT, "fw", "CRAM-MD5", b"n" * 32, b"S" * 32, 0.0)
    assert isinstance(bad, Failed) and bad.reason == "unsupported_mechanism"


def test_a_forged_completion_does_not_convince_the_client():
    client = Authenticatee("fw", "s3cret", nonces())
    start = client.start(CLIENT, MASTER, 0.0)
    client.response(MASTER, m.AuthenticationChallenge(nonce=b"S" * 32))
    fake = proof("server", "not the secret", "fw", CLIENT, MASTER, start.nonce, b"S" * 32)
    assert not client.completed(MASTER, m.AuthenticationCompleted(proof=fake))
    assert client.needed(MASTER)


def test_tables_are_bounded():
    auth = Authenticator(CREDS, MASTER, max_pending=3, max_authenticated=2)
    for i in range(10):
        auth.start(f"s({i})@h:1", "fw", "HMAC-SHA256-1", b"n" * 32, b"S" * 32, 0.0)
    assert len(auth._pending) == 3
    for i in range(5):
        run(auth, Authenticatee("fw", "s3cret", nonces()), pid=f"c({i})@h:1")
    assert len(auth) == 2 and auth.principal("c(4)@h:1") == "fw" and auth.principal("c(0)@h:1") is None


def test_credentials_files(tmp_path):
    assert set(parse_credentials('{"credentials": [{"principal": "a", "secret": "x"}, {"principal": "b"}]}')) == \
        {"a", "b"}
    assert parse_credentials("a x\n# comment\nb y\n")["b"].secret == "y"
    with pytest.raises(CredentialsError, match="listed twice"):
        parse_credentials('{"credentials": [{"principal": "a"}, {"principal": "a"}]}')
    with pytest.raises(CredentialsError, match="principal must be"):
        parse_credentials('{"credentials": [{"secret": "x"}]}')
    one = tmp_path / "cred"
    one.write_text('{"principal": "agent", "secret": "pw"}')
    assert load_credential(f"file://{one}") == Credential("agent", "pw")
    assert "pw" not in repr(load_credential(str(one)))
    one.write_text("a x\nb y\n")
    with pytest.raises(CredentialsError, match="exactly one"):
        load_credential(str(one))


def test_a_refused_client_registers_unauthenticated_once_per_master():
    client = Authenticatee("fw", "s3cret", nonces())
    client.start(CLIENT, MASTER, 0.0)
    assert client.refused(MASTER, "Authentication failed") and not client.needed(MASTER)
    assert not client.refused(MASTER, "not authenticated")  # a refused registration, no exchange
    assert client.refusal == "Authentication failed"
    client.reset()
    assert client.needed(MASTER)
