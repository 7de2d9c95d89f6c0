"""A kill nothing escapes (freezer), pids, devices and blkio isolators against
the real kernel (root, cgroup v1)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from isolation import REASON_CONTAINER_LIMITATION, CgroupsIsolator, CompositeIsolator, Limits, create_isolator
from isolation.errors import IsolationError
from isolation import proctree
from isolation.base import Isolator
from tests.integration.containment_support import HIERARCHY, alive, cgroup_root, reap_all, wait_dead

__all__ = ["cgroup_root"]

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

# Double-forks a setsid() daemon, prints its pid, then waits.
DAEMONIZE = (  # prints the daemon's pid once the middle process is gone: two processes left
    "import os, sys, time\n"
    "r, w = os.pipe()\n"
    "middle = os.fork()\n"
    "if middle == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        os.write(w, str(os.getpid()).encode())\n"
    "        time.sleep(600)\n"
    "    os._exit(0)\n"
    "os.close(w)\n"
    "os.waitpid(middle, 0)\n"
    "print(os.read(r, 32).decode(), flush=True)\n"
    "time.sleep(600)\n"
)
READY_THEN_WAIT = "import time\nprint('ready', flush=True)\ntime.sleep(600)\n"
FORK_BOMB = "for i in $(seq 2000); do sleep 60 & done"  # bounded by count, never unbounded


def _start(iso: Isolator, cid: str, argv: list[str], stderr: object = None) -> subprocess.Popen[str]:
    proc = subprocess.Popen(iso.wrap(cid, argv), start_new_session=True, text=True, stdout=subprocess.PIPE,
                            stderr=stderr)  # type: ignore[call-overload]
    iso.isolate(cid, proc.pid)
    return proc


def _daemon(iso: Isolator, cid: str) -> tuple[subprocess.Popen[str], int]:
    proc = _start(iso, cid, [sys.executable, "-c", DAEMONIZE])
    assert proc.stdout is not None
    daemon = int(proc.stdout.readline())
    assert os.getsid(daemon) != proc.pid  # it left the container's session
    return proc, daemon


def test_freezer_kill_reaches_a_setsid_double_forked_daemon(cgroup_root: str) -> None:
    iso = create_isolator("posix", cgroups_root=cgroup_root)  # root: tracked in a freezer cgroup anyway
    assert isinstance(iso, CompositeIsolator)
    tracker = iso.parts[0]
    assert isinstance(tracker, CgroupsIsolator) and tracker.subsystems == {"freezer"}
    iso.prepare("escape", Limits(cpus=1.0, mem_mb=64))
    proc, daemon = _daemon(iso, "escape")
    try:
        freezer = os.path.join(HIERARCHY, "freezer", cgroup_root, "escape")
        with open(os.path.join(freezer, "cgroup.procs")) as f:
            assert daemon in [int(p) for p in f.read().split()]
        os.killpg(proc.pid, 9)  # what the agent does to the executor's session
        proc.wait()
        assert alive(daemon)   # the session kill alone missed it
        iso.cleanup("escape")
        assert not alive(daemon)
        assert not os.path.exists(freezer)
    finally:
        reap_all([daemon, proc.pid])
        iso.close()


def test_the_posix_part_reads_proc_only_when_the_freezer_could_not_empty_the_container(
        cgroup_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The freezer empties the container: the session kill does not read every process in /proc.
    When the freezer fails, the posix part still kills the session."""
    from isolation import cgroupfs, posix

    scans: list[int] = []
    real_scan = posix.session_processes

    def scan(session: int) -> list[posix.ProcStat]:
        scans.append(session)
        return real_scan(session)

    monkeypatch.setattr(posix, "session_processes", scan)
    iso = create_isolator("posix", cgroups_root=cgroup_root)
    try:
        for cid in ("emptied", "stuck"):
            iso.prepare(cid, Limits(cpus=1.0, mem_mb=64))
        held = _start(iso, "emptied", [sys.executable, "-c", READY_THEN_WAIT])
        assert held.stdout is not None and held.stdout.readline() == "ready\n"  # in its cgroup now
        iso.cleanup("emptied")
        assert held.wait(timeout=10) == -9 and scans == []
        stuck = _start(iso, "stuck", [sys.executable, "-c", READY_THEN_WAIT])
        assert stuck.stdout is not None and stuck.stdout.readline() == "ready\n"
        with monkeypatch.context() as m:
            def refuse(path: str) -> list[int]:
                raise IsolationError(f"cannot freeze {path}")
            m.setattr(cgroupfs, "freeze_kill", refuse)
            with pytest.raises(IsolationError):
                iso.cleanup("stuck")
        assert stuck.wait(timeout=10) == -9 and scans == [stuck.pid]
        iso.cleanup("stuck")  # the freezer works again: its cgroup goes
    finally:
        iso.close()


def test_without_the_freezer_the_daemon_escapes(cgroup_root: str) -> None:
    """The posix isolator alone (not root, no freezer): why the freezer is there."""
    iso = create_isolator("posix", cgroups_root=cgroup_root, track_freezer=False)
    iso.prepare("escape", Limits(cpus=1.0, mem_mb=64))
    proc, daemon = _daemon(iso, "escape")
    try:
        iso.cleanup("escape")
        proc.wait(timeout=10)
        assert alive(daemon)
    finally:
        reap_all([daemon])
        iso.close()


def test_fork_bomb_is_held_by_the_pids_limit(cgroup_root: str, tmp_path: os.PathLike[str]) -> None:
    iso = create_isolator("cgroups/pids", cgroups_root=cgroup_root, pids_max=1000)
    iso.prepare("bomb", Limits(cpus=1.0, mem_mb=64, pids=100))  # the task's pids resource wins over --max
    path = os.path.join(HIERARCHY, "pids", cgroup_root, "bomb")
    try:
        with open(os.path.join(path, "pids.max")) as f:
            assert f.read().strip() == "100"
        errors = os.path.join(str(tmp_path), "stderr")
        with open(errors, "w") as err:
            proc = subprocess.Popen(iso.wrap("bomb", ["/bin/sh", "-c", FORK_BOMB]), start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=err)
        iso.isolate("bomb", proc.pid)
        assert proc.wait(timeout=30) != 0  # the shell gave up: "Cannot fork"
        with open(errors) as err:
            assert "fork" in err.read().lower()
        usage = iso.usage("bomb")
        assert usage.threads is not None and 90 <= usage.threads <= 100
        limitation = iso.limitation("bomb")
        assert limitation is not None and limitation.reason == REASON_CONTAINER_LIMITATION
        assert "Pids limit exceeded: pids.max=100" in limitation.message
        with open(os.path.join(path, "cgroup.procs")) as f:
            sleepers = [int(p) for p in f.read().split()]
        assert 90 <= len(sleepers) < 100
        iso.cleanup("bomb")
        assert not any(alive(pid) for pid in sleepers)
        assert not os.path.exists(path)
    finally:
        iso.cleanup("bomb")
        iso.close()


def test_pids_flag_is_the_default_limit_and_no_limitation_below_it(cgroup_root: str) -> None:
    iso = create_isolator("cgroups/pids", cgroups_root=cgroup_root, pids_max=50)
    iso.prepare("calm", Limits(cpus=1.0, mem_mb=64))
    try:
        with open(os.path.join(HIERARCHY, "pids", cgroup_root, "calm", "pids.max")) as f:
            assert f.read().strip() == "50"
        proc = _start(iso, "calm", ["/bin/sh", "-c", "for i in 1 2 3; do true & done; wait"])
        proc.communicate(timeout=30)
        assert proc.returncode == 0 and iso.limitation("calm") is None
    finally:
        iso.cleanup("calm")
        iso.close()


def test_devices_allow_list_and_blkio_usage(cgroup_root: str, tmp_path: os.PathLike[str]) -> None:
    iso = create_isolator("cgroups/devices,cgroups/blkio", cgroups_root=cgroup_root)
    iso.prepare("dev", Limits(cpus=1.0, mem_mb=64))
    try:
        with open(os.path.join(HIERARCHY, "devices", cgroup_root, "dev", "devices.list")) as f:
            listed = f.read().split("\n")
        assert "c 1:3 rwm" in listed and "c 1:9 rwm" in listed and "a *:* rwm" not in listed
        target = os.path.join(str(tmp_path), "data")
        probe = "true 2>/dev/null </dev/loop-control && echo open-loop-control || echo denied-loop-control"
        outside = subprocess.run(["/bin/sh", "-c", probe], capture_output=True, text=True, check=True)
        if outside.stdout.split() != ["open-loop-control"]:
            pytest.skip("/dev/loop-control cannot be opened here even outside a devices cgroup")
        script = (f"head -c 1 /dev/urandom >/dev/null && echo ok-urandom; {probe}; "
                  f"dd if=/dev/zero of={target} bs=1M count=4 oflag=direct 2>/dev/null && echo wrote")
        proc = _start(iso, "dev", ["/bin/sh", "-c", script])
        out, _ = proc.communicate(timeout=30)
        assert out.split() == ["ok-urandom", "denied-loop-control", "wrote"]
        usage = iso.usage("dev")
        assert usage.blkio_bytes_write is not None  # blkio accounting is read (0 where the fs bypasses blkio)
    finally:
        iso.cleanup("dev")
        iso.close()


def test_bad_device_entry_names_it() -> None:
    with pytest.raises(ValueError, match="bad device entry 'x 1:3 rwm'"):
        CgroupsIsolator(subsystems={"devices"}, allowed_devices=["x 1:3 rwm"])


def test_pid_namespace_init_death_kills_the_rest(cgroup_root: str) -> None:
    iso = create_isolator("posix/cpu,posix/mem,namespaces/pid", cgroups_root=cgroup_root,
                          track_freezer=False)  # no freezer: the namespace alone must do it
    iso.prepare("ns", Limits(cpus=1.0, mem_mb=64))
    proc = _start(iso, "ns", [sys.executable, "-c", "import os; print(os.getpid(), flush=True)\n" + DAEMONIZE])
    assert proc.stdout is not None
    try:
        assert int(proc.stdout.readline()) == 1  # the executor is the namespace's init
        ns_daemon = int(proc.stdout.readline())  # its pid as the namespace numbers it
        assert ns_daemon < 10
        inside = proctree.descendants(proc.pid)  # host pids: unshare's child and what it started
        assert len(inside) >= 2
        proc.kill()  # unshare dies -> --kill-child kills init -> the kernel kills the namespace
        proc.wait()
        for pid in inside:
            assert wait_dead(pid), f"pid {pid} of the namespace survived its init"
    finally:
        reap_all([proc.pid])
        iso.cleanup("ns")
        iso.close()


def test_recover_destroys_an_orphan_with_its_daemon_but_not_a_posix_agents_container(cgroup_root: str) -> None:
    old = create_isolator("cgroups/mem", cgroups_root=cgroup_root)  # an agent that then crashed
    posix = create_isolator("posix", cgroups_root=cgroup_root)      # another agent sharing the root
    old.prepare("orphan", Limits(cpus=1.0, mem_mb=64))
    posix.prepare("theirs", Limits(cpus=1.0, mem_mb=64))
    orphan, orphan_daemon = _daemon(old, "orphan")
    theirs, their_daemon = _daemon(posix, "theirs")
    old.close()
    restarted = create_isolator("cgroups/mem", cgroups_root=cgroup_root)
    try:
        assert restarted.recover(set()) == ["orphan"]
        assert not alive(orphan_daemon) and alive(their_daemon)
        assert os.path.isdir(os.path.join(HIERARCHY, "freezer", cgroup_root, "theirs"))
    finally:
        posix.cleanup("theirs")
        assert not alive(their_daemon)
        reap_all([orphan.pid, theirs.pid, orphan_daemon, their_daemon])
        orphan.wait()
        theirs.wait()
        restarted.close()
        posix.close()


def test_a_posix_agent_recovers_only_its_own_freezer_cgroups(cgroup_root: str) -> None:
    """Two posix agents (work_dirs a and b) share --cgroups_root; a restarted "a" kills
    what its crashed run left, and leaves "b"'s container alone."""
    crashed = create_isolator("posix", cgroups_root=cgroup_root, agent_key="a")
    other = create_isolator("posix", cgroups_root=cgroup_root, agent_key="b")
    crashed.prepare("left", Limits(cpus=1.0, mem_mb=64))
    other.prepare("theirs", Limits(cpus=1.0, mem_mb=64))
    left, left_daemon = _daemon(crashed, "left")
    theirs, their_daemon = _daemon(other, "theirs")
    restarted = create_isolator("posix", cgroups_root=cgroup_root, agent_key="a")
    try:
        assert restarted.recover(set()) == ["left"]
        assert not alive(left_daemon) and alive(their_daemon)
        restarted.close()
        assert not os.path.exists(os.path.join(HIERARCHY, "freezer", f"{cgroup_root}_posix", "a"))  # pruned
    finally:
        other.cleanup("theirs")
        reap_all([left.pid, theirs.pid, left_daemon, their_daemon])
        left.wait()
        theirs.wait()
        other.close()
        crashed.close()
