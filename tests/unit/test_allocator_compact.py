"""The allocator's book is compact: the frameworks holding an agent are a tuple that shrinks
back as they let go (a set kept the size it once had), and the entry goes with the last one;
what recovery leaves on alike agents, and allocated there, is one Resources for all."""

from __future__ import annotations

from actors.allocator import AllocatorCore
from actors.resources import Resources

R = Resources.parse


def test_the_frameworks_holding_an_agent_are_a_tuple_kept_in_step_with_the_allocations() -> None:
    al = AllocatorCore()
    for fid in ("f1", "f2", "f3"):
        al.add_framework(fid, ["*"])
    al.add_agent("a", R("cpus:3;mem:3072"), used={"f1": R("cpus:1;mem:1024"), "f2": R("cpus:1;mem:1024")})
    assert al._agent_fws["a"] == ("f1", "f2")
    (offered,) = al.allocate(0.0)  # the rest goes to f3, whose share is lowest
    assert offered == "f3" and al._agent_fws["a"] == ("f1", "f2", "f3")
    al.recover_resources("f3", "a", R("cpus:1;mem:1024"), refuse_seconds=60.0, now=0.0)
    al.recover_resources("f1", "a", R("cpus:0.5;mem:512"), now=0.0)  # f1 still holds half
    assert al._agent_fws["a"] == ("f1", "f2")
    al.recover_resources("f1", "a", R("cpus:0.5;mem:512"), now=0.0)
    assert al._agent_fws["a"] == ("f2",)
    assert al.allocate(1.0) == {"f1": {"a": R("cpus:2;mem:2048")}}  # f3 is filtered there
    assert al._agent_fws["a"] == ("f2", "f1")
    for fid in ("f1", "f2"):
        al.recover_resources(fid, "a", al.allocated(fid)["a"], refuse_seconds=60.0, now=1.0)
    assert "a" not in al._agent_fws  # the last one let go: no entry is left
    al.add_agent("b", R("cpus:1;mem:64"), used={"f2": R("cpus:1;mem:64")})
    al.remove_agent("b")
    assert "b" not in al._agent_fws and al.allocated("f2") == {}


def test_alike_agents_left_alike_by_recovery_share_their_available_and_allocated_resources() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["*"])
    for aid in ("a1", "a2"):
        al.add_agent(aid, R("cpus:4;mem:4096;ports:[31000-32000]"))
    offers = al.allocate(0.0)["fw"]
    for aid in ("a1", "a2"):  # the framework launches <1, 512> on each and gives the rest back
        al.recover_resources("fw", aid, offers[aid] - R("cpus:1;mem:512"), refuse_seconds=0.0, now=0.0)
    a1, a2 = al._agents["a1"], al._agents["a2"]
    assert a1.available == a2.available == R("cpus:3;mem:3584;ports:[31000-32000]")
    assert a1.available is a2.available  # one object for the two
    held = [al._alloc["fw"][aid]["*"] for aid in ("a1", "a2")]
    assert held[0] == R("cpus:1;mem:512") and held[0] is held[1]
    assert al.allocate(1.0) == {"fw": {aid: R("cpus:3;mem:3584;ports:[31000-32000]") for aid in ("a1", "a2")}}
    assert al.allocated("fw") == {aid: R("cpus:4;mem:4096;ports:[31000-32000]") for aid in ("a1", "a2")}
