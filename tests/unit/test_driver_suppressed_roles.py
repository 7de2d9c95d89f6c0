"""The scheduler driver's core remembers suppressed roles and sends them with every (re)registration."""

from __future__ import annotations

from actors.scheduler.state import DriverCore
from transport import messages as m


def test_suppressed_roles_go_with_every_registration() -> None:
    core = DriverCore({"name": "f", "roles": ["a", "b", "c"]})
    assert core.registration() == m.RegisterFramework(framework=core.framework, suppressed_roles=[])
    core.suppress(["a", "zz", "a"])  # while not connected: remembered, nothing sent; unknown roles ignored
    assert core.suppressed_roles == ["a"]
    reg = core.registration()
    assert isinstance(reg, m.RegisterFramework) and reg.suppressed_roles == ["a"]
    core.registered("fw-1")
    assert core.suppress(["b"]).send == [m.SuppressOffers(framework_id="fw-1", roles=["b"])]
    core.connected = False  # the master went away
    again = core.registration()
    assert isinstance(again, m.ReregisterFramework) and again.suppressed_roles == ["a", "b"]
    core.registered("fw-1")
    core.revive(["a"])
    assert core.suppressed_roles == ["b"]
    core.suppress([])  # all roles
    assert sorted(core.suppressed_roles) == ["a", "b", "c"]
    assert core.revive([]).send == [m.ReviveOffers(framework_id="fw-1", roles=[])]
    assert core.suppressed_roles == []


def test_a_single_role_framework_suppresses_its_role() -> None:
    core = DriverCore({"name": "f", "role": "web"})
    core.suppress([])
    assert core.suppressed_roles == ["web"]
    core.revive(["web"])
    assert core.suppressed_roles == []
