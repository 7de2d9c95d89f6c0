"""The proof table binding connections to the addresses they speak for (transport.senders)."""

from __future__ import annotations

import pytest

from transport.senders import Proofs


def test_a_claim_is_held_until_its_token_comes_back() -> None:
    proofs: Proofs[str] = Proofs(timeout=3.0)
    challenge, new = proofs.challenge(b"conn-1", "10.0.0.1:5050", now=0.0)
    assert challenge is not None and new
    assert proofs.hold(challenge, ["a", "b"]) == []
    again, new = proofs.challenge(b"conn-1", "10.0.0.1:5050", now=0.1)
    assert again is challenge and not new  # one challenge per connection
    assert proofs.speaks_for(b"conn-1") is None
    assert proofs.proven(b"wrong token") is None
    done = proofs.proven(challenge.token)
    assert done is not None and done[0] == b"conn-1" and done[1].held == [["a", "b"]]
    assert proofs.speaks_for(b"conn-1") == "10.0.0.1:5050"


def test_a_connection_claims_one_address_at_a_time() -> None:
    proofs: Proofs[str] = Proofs()
    proofs.challenge(b"conn-1", "10.0.0.1:5050", now=0.0)
    assert proofs.challenge(b"conn-1", "10.0.0.2:5050", now=0.0) == (None, False)


def test_tokens_differ_by_address_connection_and_secret() -> None:
    a, b = Proofs[str](), Proofs[str]()
    assert a.token("h:1", b"c") != a.token("h:2", b"c") != a.token("h:1", b"d")
    assert a.token("h:1", b"c") != b.token("h:1", b"c")
    assert a.ping_token("h:1") == a.ping_token("h:1")


def test_unanswered_challenges_expire_and_everything_is_bounded() -> None:
    proofs: Proofs[int] = Proofs(timeout=1.0, max_open=3, max_held=5, max_proven=2)
    made = [proofs.challenge(b"c%d" % i, "h:1", now=float(i))[0] for i in range(4)]
    assert made[3] is None  # three open at most
    assert made[0] is not None
    assert proofs.hold(made[0], list(range(8))) == [5, 6, 7]
    expired = proofs.expired(now=1.5)
    assert [c.count for c in expired] == [5]
    assert proofs.next_deadline() == 2.0
    for challenge in made[1:3]:
        assert challenge is not None and proofs.proven(challenge.token) is not None
    third, _ = proofs.challenge(b"c9", "h:1", now=3.0)
    assert third is not None and proofs.proven(third.token) is not None
    assert proofs.speaks_for(b"c1") is None  # the least recently used proof is forgotten


def test_bad_limits_are_refused_naming_them() -> None:
    with pytest.raises(ValueError, match="max_open=0"):
        Proofs(max_open=0)


def test_the_bytes_held_in_all_challenges_are_bounded() -> None:
    proofs: Proofs[int] = Proofs(max_held_bytes=100)
    a, _ = proofs.challenge(b"a", "h:1", now=0.0)
    b, _ = proofs.challenge(b"b", "h:2", now=0.0)
    assert a is not None and b is not None
    assert proofs.hold(a, [1], size=60) == []
    assert proofs.hold(b, [2], size=60) == [2]  # would pass 100 bytes held
    assert proofs.proven(a.token) is not None
    assert proofs.held_bytes == 0
    assert proofs.hold(b, [3], size=60) == []
