"""What the new isolators read from the kernel's files, on fakes and on this process."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from isolation import IsolationValueError, Limits
from isolation.cgroups_v2 import is_cgroup2
from isolation.devices import DEFAULT_ALLOWED, parse_allowed
from isolation.ports import format_ranges, listening_ports
from isolation import proctree
from isolation.proctree import descendants
from isolation.v1_controllers import pids_limitation, read_usage


def test_blkio_totals_are_summed_over_devices(tmp_path: Path) -> None:
    (tmp_path / "blkio.throttle.io_service_bytes").write_text(
        "8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:16 Read 1\n8:16 Write 2\nTotal 303\n")
    (tmp_path / "blkio.throttle.io_serviced").write_text("8:0 Read 3\n8:0 Write 4\nTotal 7\n")
    usage = read_usage({"blkio": str(tmp_path)}, None, 100)
    assert (usage["blkio_bytes_read"], usage["blkio_bytes_write"]) == (101, 202)
    assert (usage["blkio_ops_read"], usage["blkio_ops_write"]) == (3, 4)


def test_pids_limitation_only_after_a_refused_fork(tmp_path: Path) -> None:
    (tmp_path / "pids.max").write_text("100\n")
    (tmp_path / "pids.peak").write_text("100\n")
    (tmp_path / "pids.events").write_text("max 0\n")
    assert pids_limitation(str(tmp_path)) is None
    (tmp_path / "pids.events").write_text("max 7\n")
    found = pids_limitation(str(tmp_path))
    assert found is not None and found.reason == "REASON_CONTAINER_LIMITATION"
    assert "pids.max=100 refused 7 fork(s)" in found.message


def test_device_entries() -> None:
    assert parse_allowed(None) == DEFAULT_ALLOWED
    assert parse_allowed(["c  1:3   rwm", "b *:* m"]) == ("c 1:3 rwm", "b *:* m")
    for bad in ("c 1:3", "x 1:3 rwm", "c 1:3 rwx", "c a:3 r"):
        with pytest.raises(IsolationValueError, match="bad device entry"):
            parse_allowed([bad])


def test_is_cgroup2_reads_the_mounts_file(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"cgroup2 {tmp_path} cgroup2 rw 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n")
    assert is_cgroup2(str(tmp_path), mounts_file=str(mounts))
    assert not is_cgroup2("/sys/fs/cgroup/cpu", mounts_file=str(mounts))


def test_listening_ports_of_this_process() -> None:
    with socket.socket() as listener, socket.socket(socket.AF_INET6) as v6, socket.socket() as unbound:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        v6.bind(("::1", 0))
        v6.listen()
        found = listening_ports([os.getpid()])
        assert {listener.getsockname()[1], v6.getsockname()[1]} <= found
        assert unbound.fileno() > 0 and len(found) >= 2
    assert listening_ports([]) == set()


def test_limits_ports_and_pids_are_checked() -> None:
    assert format_ranges(((31000, 31005), (31010, 31010))) == "[31000-31005, 31010-31010]"
    with pytest.raises(IsolationValueError, match=r"\[70000-70001\]"):
        Limits(cpus=1, mem_mb=1, ports=((70000, 70001),))
    with pytest.raises(IsolationValueError, match="pids must be an integer >= 1, got 0"):
        Limits(cpus=1, mem_mb=1, pids=0)


def test_descendants_include_grandchildren() -> None:
    proc = subprocess.Popen(["/bin/sh", "-c", "sleep 30 & echo $!; wait"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        grandchild = int(proc.stdout.readline())
        assert {proc.pid, grandchild} <= set(descendants(os.getpid()))
        assert descendants(grandchild) == []
    finally:
        proc.kill()
        proc.wait()
        os.kill(grandchild, 9)


def test_kill_tree_of_a_process_with_nothing_below_it_walks_once(monkeypatch: pytest.MonkeyPatch) -> None:
    walks: list[int] = []
    real = proctree._walk

    def walk(pid: int) -> dict[int, tuple[int, str]] | None:
        walks.append(pid)
        return real(pid)

    monkeypatch.setattr(proctree, "_walk", walk)
    if descendants(os.getpid(), include_zombies=True):
        pytest.skip("this test process has children (a plugin's?)")
    walks.clear()
    assert proctree.kill_tree(os.getpid()) == [] and walks == [os.getpid()]
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        walks.clear()
        assert proctree.kill_tree(os.getpid()) == [proc.pid]  # one below it: killed and reaped as before
        assert len(walks) > 1
        with pytest.raises(ChildProcessError):
            os.waitpid(proc.pid, os.WNOHANG)
    finally:
        if proc.returncode is None and proc.poll() is None:
            proc.kill()


def test_the_executors_own_directories_under_tmp_are_kept_in_a_private_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    # filesystem/linux hides the host's /tmp; a venv or checkout under /tmp must stay visible to the executor.
    from isolation import namespaces

    monkeypatch.setattr(namespaces.sys, "prefix", "/tmp/venv-x")
    monkeypatch.setattr(namespaces.sys, "base_prefix", "/usr")
    monkeypatch.setattr(namespaces.sys, "executable", "/tmp/venv-x/bin/python")
    kept = namespaces.runtime_dirs_under_tmp()
    assert "/tmp/venv-x" in kept
    assert all(path.count("/") == 2 and path.startswith("/tmp/") for path in kept)
