"""The allocator's book is compact: the frameworks holding an agent are a tuple that shrinks
back as they let go (a set kept the size it once had), and the entry goes with the last one."""

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
