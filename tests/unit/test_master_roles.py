"""Roles at the master core: hierarchical names are offered to, invalid ones refused with an error."""

from __future__ import annotations

from typing import Any

import pytest

from actors.master.config import ConfigError, MasterConfig, parse_weights
from tests.unit.master_helpers import FW, Harness, of_type
from transport import messages as m

FW2 = "scheduler(2)@127.0.0.1:6002"


def test_hierarchical_role_registers_and_is_offered() -> None:
    h = Harness()
    fid = h.framework(FW, roles=["eng/backend"], capabilities=[{"type": "MULTI_ROLE"}])
    h.agent()
    (offer,) = h.offers(FW)
    assert offer["allocation_info"] == {"role": "eng/backend"}
    assert h.allocator.role_shares() == {"eng/backend": 1.0}
    state = h.core.state(h.now)["frameworks"][0]
    assert state["id"] == fid and state["roles"] == ["eng/backend"]


@pytest.mark.parametrize("info, words", [
    ({"roles": ["a//b"]}, ["'a//b'", "two adjacent slashes"]),
    ({"roles": ["ok", "."]}, ["'.'", "cannot include '.'"]),
    ({"roles": [".."]}, ["'..'"]),
    ({"roles": ["-x"]}, ["'-x'", "starts with a dash"]),
    ({"roles": ["a b"]}, ["'a b'", "whitespace"]),
    ({"roles": ["/a"]}, ["'/a'", "start with a slash"]),
    ({"roles": ["a/"]}, ["'a/'", "end with a slash"]),
    ({"roles": [""]}, ["''", "empty string"]),
    ({"roles": [7]}, ["7"]),
    ({"roles": "web"}, ["must be a list", "'web'"]),
    ({"roles": ["a", "a"]}, ["duplicate", "'a'"]),
    ({"role": "a//b"}, ["FrameworkInfo.role", "'a//b'"]),
])
def test_invalid_role_is_a_framework_error_naming_it(info: dict[str, Any], words: list[str]) -> None:
    h = Harness()
    out = h.send(FW, m.RegisterFramework(framework={"name": "x", **info}))
    (err,) = of_type(out, m.FrameworkError, FW)
    for word in words:
        assert word in err.message, err.message
    assert not of_type(out, m.FrameworkRegistered) and h.core.frameworks == {}
    assert h.allocator.role_order() == []


def test_reregistration_with_an_invalid_role_is_refused() -> None:
    h = Harness()
    fid = h.framework(FW, roles=["eng"])
    out = h.send(FW2, m.ReregisterFramework(framework={"name": "x", "id": {"value": fid}, "roles": ["eng/../x"]}))
    (err,) = of_type(out, m.FrameworkError, FW2)
    assert "'eng/../x'" in err.message
    assert h.core.frameworks[fid].roles == ["eng"] and h.core.frameworks[fid].pid == FW


def test_legacy_empty_role_means_the_default_role() -> None:
    h = Harness()
    h.framework(FW, role="")
    assert h.core.frameworks["M-0000"].roles == ["*"]


@pytest.mark.parametrize("flags, words", [
    ({"roles": "eng,a//b"}, ["--roles", "'a//b'", "adjacent slashes"]),
    ({"roles": "eng/"}, ["--roles", "'eng/'"]),
    ({"roles": "-eng"}, ["--roles", "'-eng'"]),
    ({"weights": "eng/./x=2"}, ["--weights", "'eng/./x'"]),
    ({"weights": "..=2"}, ["--weights", "'..'"]),
])
def test_bad_roles_and_weights_flags_name_the_role(flags: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        MasterConfig(**flags).validate()
    assert "\n" not in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_hierarchical_roles_and_weights_flags() -> None:
    config = MasterConfig(roles="eng/backend,eng/frontend,ops", weights="eng/backend=2,ops=0.5").validate()
    assert parse_weights(config.weights) == {"eng/backend": 2.0, "ops": 0.5}
    h = Harness(roles="eng/backend")
    out = h.send(FW, m.RegisterFramework(framework={"name": "x", "roles": ["eng"]}))
    (err,) = of_type(out, m.FrameworkError, FW)
    assert "'eng'" in err.message and "--roles" in err.message


def test_reservation_to_a_parent_role_is_offered_in_the_subrole() -> None:
    h = Harness()
    h.framework(FW, roles=["ops", "eng/backend"], capabilities=[{"type": "MULTI_ROLE"}])
    h.agent(resources="cpus(eng):2;mem(eng):256")
    (offer,) = h.offers(FW)
    assert offer["allocation_info"] == {"role": "eng/backend"}
    assert {r["role"] for r in offer["resources"]} == {"eng"}
