"""The --isolation flag, mount discovery and value checks (no real cgroups)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from isolation import (
    CgroupsIsolator,
    CompositeIsolator,
    IsolationError,
    IsolationValueError,
    Limits,
    PosixIsolator,
    Usage,
    create_isolator,
    parse_isolation,
)
from isolation.base import check_container_id
from isolation.cgroupfs import find_mounts

CPU_MEM = frozenset({"cpu", "mem"})


def _fake_hierarchy(root: Path, combined: bool = False) -> str:
    """Directories that look like cgroup v1 mounts (for construction only)."""
    if combined:
        both = root / "cpu,cpuacct"
        both.mkdir()
        (both / "cpu.shares").write_text("1024\n")
        (both / "cpuacct.stat").write_text("user 0\nsystem 0\n")
        (root / "cpu").symlink_to(both)
        (root / "cpuacct").symlink_to(both)
    else:
        for name, probe in (("cpu", "cpu.shares"), ("cpuacct", "cpuacct.stat")):
            (root / name).mkdir()
            (root / name / probe).write_text("0\n")
    (root / "memory").mkdir()
    (root / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    return str(root)


@pytest.mark.parametrize(
    ("spec", "cgroups", "posix"),
    [
        ("", frozenset(), CPU_MEM),
        ("posix", frozenset(), CPU_MEM),
        ("posix/cpu,posix/mem", frozenset(), CPU_MEM),
        ("cgroups/cpu,cgroups/mem", CPU_MEM, frozenset()),
        (" cgroups/cpu , cgroups/mem ,", CPU_MEM, frozenset()),
        ("cgroups/mem,posix/cpu", frozenset({"mem"}), frozenset({"cpu"})),
        ("cgroups/cpu,posix/cpu,posix/mem", frozenset({"cpu"}), frozenset({"mem"})),
        ("cgroups/mem", frozenset({"mem"}), frozenset()),
        ("cgroups/pids,cgroups/devices,cgroups/blkio,posix/cpu", frozenset({"pids", "devices", "blkio"}),
         frozenset({"cpu"})),
    ],
)
def test_parse_isolation(spec: str, cgroups: frozenset[str], posix: frozenset[str]) -> None:
    assert parse_isolation(spec)[:2] == (cgroups, posix)


def test_parse_isolation_other_isolators() -> None:
    assert parse_isolation("cgroups/mem,disk/du").others == {"disk/du"}
    assert parse_isolation("posix/disk").others == {"disk/du"}  # Mesos' old name


@pytest.mark.parametrize(("spec", "bad"), [("cgroups/cpu,foo/bar", "foo/bar"), ("cgroups/all", "cgroups/all"),
                                           ("network/port_mapping", "network/port_mapping"), ("cgroups", "cgroups")])
def test_unknown_isolator_is_a_value_error_naming_it(spec: str, bad: str) -> None:
    with pytest.raises(IsolationValueError) as info:
        create_isolator(spec)
    message = str(info.value)
    assert f"unknown isolator '{bad}'" in message
    assert f"in --isolation '{spec}'" in message
    assert "known: cgroups/cpu, cgroups/mem, cgroups/pids" in message and "disk/du" in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, IsolationError)


@pytest.mark.parametrize("spec", ["", "posix", "posix/cpu,posix/mem", "posix/mem"])
def test_posix_specs(spec: str) -> None:
    iso = create_isolator(spec, track_freezer=False)
    assert isinstance(iso, PosixIsolator)
    iso.close()


def test_cgroups_without_hierarchy_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(IsolationError) as info:
        create_isolator("cgroups/cpu,cgroups/mem", cgroups_hierarchy=str(tmp_path))
    assert str(tmp_path) in str(info.value)
    assert not isinstance(info.value, ValueError)


def test_cgroups_and_mixed_specs(tmp_path: Path) -> None:
    hierarchy = _fake_hierarchy(tmp_path)
    full = create_isolator("cgroups/cpu,cgroups/mem", cgroups_hierarchy=hierarchy, enable_cfs=True)
    assert isinstance(full, CgroupsIsolator)
    assert full.subsystems == CPU_MEM and full.enable_cfs
    assert full.mounts == {c: os.path.join(hierarchy, c) for c in ("cpu", "cpuacct", "memory")}
    full.close()

    mixed = create_isolator("cgroups/mem,posix/cpu", cgroups_hierarchy=hierarchy, cgroups_root="agent1")
    assert isinstance(mixed, CompositeIsolator)
    cgroups, posix = mixed.parts
    assert isinstance(cgroups, CgroupsIsolator) and isinstance(posix, PosixIsolator)
    assert cgroups.subsystems == {"mem"} and set(cgroups.mounts) == {"memory"} and cgroups.root == "agent1"
    mixed.close()

    covered = create_isolator("cgroups/cpu,cgroups/mem,posix/cpu", cgroups_hierarchy=hierarchy)
    assert isinstance(covered, CgroupsIsolator)
    covered.close()


def test_co_mounted_cpu_and_cpuacct_share_one_cgroup(tmp_path: Path) -> None:
    hierarchy = _fake_hierarchy(tmp_path, combined=True)
    iso = CgroupsIsolator(root="r", hierarchy=hierarchy, subsystems={"cpu"})
    try:
        assert iso.mounts["cpu"] == iso.mounts["cpuacct"] == str(tmp_path / "cpu,cpuacct")
        iso.prepare("c1", Limits(cpus=0.6, mem_mb=64))
        assert (tmp_path / "cpu,cpuacct" / "r" / "c1" / "cpu.shares").read_text() == "614"
        argv = iso.wrap("c1", ["true"])
        procs = argv[4:argv.index("--")]
        assert procs == [str(tmp_path / "cpu,cpuacct" / "r" / "c1" / "cgroup.procs")]
    finally:
        iso.close()


def test_find_mounts_reads_proc_mounts(tmp_path: Path) -> None:
    both = tmp_path / "cpu,cpuacct"
    mem = tmp_path / "mem ory"
    both.mkdir()
    mem.mkdir()
    mounts = tmp_path / "mounts"
    mounts.write_text(
        f"cgroup {both} cgroup rw,nosuid,cpu,cpuacct 0 0\n"
        f"cgroup {str(mem).replace(' ', chr(92) + '040')} cgroup rw,memory 0 0\n"
        f"cgroup /elsewhere/freezer cgroup rw,memory 0 0\n"
        f"tmpfs {tmp_path} tmpfs rw 0 0\n"
    )
    found = find_mounts(str(tmp_path), {"cpu", "cpuacct", "memory"}, mounts_file=str(mounts))
    assert found == {"cpu": str(both), "cpuacct": str(both), "memory": str(mem)}


@pytest.mark.parametrize(("cpus", "mem_mb", "bad"), [(-1, 64, "-1"), (1.0, float("nan"), "nan"),
                                                     (float("inf"), 1, "inf")])
def test_limits_name_the_bad_value(cpus: float, mem_mb: float, bad: str) -> None:
    with pytest.raises(IsolationValueError, match=bad):
        Limits(cpus=cpus, mem_mb=mem_mb)


@pytest.mark.parametrize("cid", ["", ".", "..", "a/b", "x\x00", "a b"])
def test_bad_container_ids(cid: str) -> None:
    with pytest.raises(IsolationValueError, match="container id"):
        check_container_id(cid)


def test_bad_cgroups_arguments(tmp_path: Path) -> None:
    with pytest.raises(IsolationValueError, match="disk"):
        CgroupsIsolator(hierarchy=str(tmp_path), subsystems={"cpu", "disk"})
    with pytest.raises(IsolationValueError, match=r"'\.\./up'"):
        CgroupsIsolator(root="../up", hierarchy=str(tmp_path))


def test_usage_to_dict_leaves_out_unknown_fields() -> None:
    usage = Usage(cpus_user_time_secs=1.5, cpus_system_time_secs=0.5, cpus_limit=None, mem_rss_bytes=10,
                  mem_limit_bytes=None, timestamp=12.0, processes=2)
    assert usage.to_dict() == {"cpus_user_time_secs": 1.5, "cpus_system_time_secs": 0.5, "mem_rss_bytes": 10,
                               "timestamp": 12.0, "processes": 2}
