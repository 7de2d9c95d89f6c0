"""The cgroup v1 and posix isolators against the real kernel (runs as root)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from isolation import (
    REASON_CONTAINER_LIMITATION_MEMORY,
    CgroupsIsolator,
    CompositeIsolator,
    Limitation,
    Limits,
    PosixIsolator,
    cgroupfs,
    create_isolator,
)
from isolation.cgroups_v1 import LAUNCHER_EXIT_STATUS
from tests.integration.cpu_control import ControlLoop

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
HIERARCHY = "/sys/fs/cgroup"
CONTROLLERS = ("cpu", "cpuacct", "memory")

ALLOCATE_256M = "b = bytearray(256 * 1024 * 1024)\nfor i in range(0, len(b), 4096):\n    b[i] = 1\n"
BUSY_2S = (
    "import time\nt = time.monotonic()\nwhile time.monotonic() - t < 2.0:\n    pass\n"
    "print(time.monotonic() - t)\n"
)
HOLD_40M = (
    "import sys\nb = bytearray(40 * 1024 * 1024)\nfor i in range(0, len(b), 4096):\n    b[i] = 1\n"
    "print('ready', flush=True)\nsys.stdin.read()\n"
)
TREE = (
    "import subprocess, sys\n"
    "kid = ('import sys, time\\nb = bytearray(24 << 20)\\nfor i in range(0, len(b), 4096): b[i] = 1\\n'\n"
    "       't = time.process_time()\\nwhile time.process_time() - t < 0.2: pass\\n'\n"
    "       'print(1, flush=True)\\nsys.stdin.read()\\n')\n"
    "ps = [subprocess.Popen([sys.executable, '-c', kid], stdin=subprocess.PIPE, stdout=subprocess.PIPE)"
    " for _ in range(2)]\n"
    "for p in ps:\n    p.stdout.readline()\n"
    "print('ready', flush=True)\nsys.stdin.read()\n"
)


def _mount(controller: str) -> str:
    return os.path.join(HIERARCHY, controller)


@pytest.fixture
def cgroup_root() -> Iterator[str]:
    memory = _mount("memory")
    if not (os.path.isdir(memory) and os.access(memory, os.W_OK)):
        pytest.skip(f"{memory} is not a writable cgroup v1 memory hierarchy")
    root = f"mesopy-test-{uuid.uuid4().hex[:12]}"
    yield root
    for controller in (*CONTROLLERS, "freezer"):  # freezer: create_isolator's, as root
        cgroupfs.destroy_cgroup(os.path.join(_mount(controller), root))


@pytest.fixture
def isolator(cgroup_root: str) -> Iterator[CgroupsIsolator]:
    iso = CgroupsIsolator(root=cgroup_root, hierarchy=HIERARCHY, enable_cfs=True)
    yield iso
    iso.close()


def _launch(iso: CgroupsIsolator | PosixIsolator | CompositeIsolator, cid: str, code: str,
            **kwargs: object) -> subprocess.Popen[str]:
    proc = subprocess.Popen(iso.wrap(cid, [sys.executable, "-c", code]), start_new_session=True,
                            text=True, **kwargs)  # type: ignore[call-overload]
    iso.isolate(cid, proc.pid)
    return proc


def _cgroups_of(text: str) -> dict[str, str]:
    result = {}
    for line in text.strip().replace(";", "\n").splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(","):
            result[name] = path
    return result


def test_oom_kill_is_reported_once_and_after_the_fact(isolator: CgroupsIsolator, cgroup_root: str) -> None:
    isolator.prepare("oom", Limits(cpus=1.0, mem_mb=64))
    fired = threading.Event()
    calls: list[tuple[str, Limitation]] = []

    def on_limit(cid: str, limitation: Limitation) -> None:
        calls.append((cid, limitation))
        fired.set()

    isolator.watch("oom", on_limit)
    proc = _launch(isolator, "oom", ALLOCATE_256M)
    assert proc.wait(timeout=30) == -9
    assert fired.wait(timeout=5), "OOM callback did not fire"
    limitation = isolator.limitation("oom")
    assert limitation is not None
    assert limitation.reason == REASON_CONTAINER_LIMITATION_MEMORY
    assert "Memory limit exceeded: Requested: 64MB" in limitation.message
    assert calls == [("oom", limitation)]
    oom = cgroupfs.read_keyed(os.path.join(_mount("memory"), cgroup_root, "oom", "memory.oom_control"))
    assert oom["oom_kill"] >= 1

    # A restarted agent: a new isolator adopts the container and still sees the OOM.
    again = CgroupsIsolator(root=cgroup_root, hierarchy=HIERARCHY)
    try:
        assert again.recover({"oom"}) == []
        late = again.limitation("oom")
        assert late is not None and late.reason == REASON_CONTAINER_LIMITATION_MEMORY
        again.cleanup("oom")
    finally:
        again.close()
    isolator.cleanup("oom")
    assert len(calls) == 1


def test_cfs_quota_holds_busy_loop_to_half_a_cpu(isolator: CgroupsIsolator) -> None:
    isolator.prepare("cfs", Limits(cpus=0.5, mem_mb=128))
    with ControlLoop(2.0) as control:
        started = time.monotonic()
        proc = _launch(isolator, "cfs", BUSY_2S, stdout=subprocess.PIPE)
        out, _ = proc.communicate(timeout=15)
        wall = time.monotonic() - started      # the cgroup also accounts the interpreter's start-up
    assert proc.returncode == 0 and float(out) >= 2.0
    usage = isolator.usage("cfs")
    cpu = usage.cpus_user_time_secs + usage.cpus_system_time_secs
    print(f"cfs 0.5 cpus: {cpu:.2f} s of cpu in {wall:.2f} s = {cpu / wall:.3f}; control {control.share:.3f}")
    assert usage.cpus_limit == 0.5
    assert cpu / wall <= 0.55, (cpu, wall)  # the ceiling holds whatever else runs
    if control.uncontended:  # a loop could have had a whole core: the quota is what held this one
        assert cpu / wall == pytest.approx(0.5, rel=0.10), (cpu, wall, control.share)
        assert usage.cpus_nr_throttled and usage.cpus_nr_throttled > 0
    isolator.cleanup("cfs")


def test_process_is_in_its_cgroups_before_exec(isolator: CgroupsIsolator, cgroup_root: str) -> None:
    isolator.prepare("join", Limits(cpus=0.25, mem_mb=50))
    argv = isolator.wrap("join", ["/bin/cat", "/proc/self/cgroup"])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True)
    cgroups = _cgroups_of(done.stdout)
    for controller in CONTROLLERS:
        assert cgroups[controller] == f"/{cgroup_root}/join"
    cpu_dir = os.path.join(_mount("cpu"), cgroup_root, "join")
    mem_dir = os.path.join(_mount("memory"), cgroup_root, "join")
    assert cgroupfs.read_int(os.path.join(cpu_dir, "cpu.shares")) == 256
    assert cgroupfs.read_int(os.path.join(cpu_dir, "cpu.cfs_quota_us")) == 25_000
    assert cgroupfs.read_int(os.path.join(cpu_dir, "cpu.cfs_period_us")) == 100_000
    assert cgroupfs.read_int(os.path.join(mem_dir, "memory.limit_in_bytes")) == 50 * MiB

    # A cgroup that cannot be joined stops the launch instead of running unconfined.
    os.rmdir(cpu_dir)
    failed = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=10)
    assert failed.returncode == LAUNCHER_EXIT_STATUS
    assert cpu_dir in failed.stderr
    assert failed.stdout == ""
    isolator.cleanup("join")


def test_cleanup_kills_leftovers_and_removes_dirs(isolator: CgroupsIsolator, cgroup_root: str) -> None:
    isolator.prepare("left", Limits(cpus=1.0, mem_mb=64))
    script = "setsid sleep 60 & sleep 60 & echo ready; wait"
    proc = subprocess.Popen(isolator.wrap("left", ["/bin/sh", "-c", script]), start_new_session=True,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    mem_dir = os.path.join(_mount("memory"), cgroup_root, "left")
    pids = cgroupfs.read_procs(mem_dir)
    assert len(pids) == 3
    isolator.cleanup("left")
    assert proc.wait(timeout=5) == -9
    for controller in CONTROLLERS:
        assert not os.path.exists(os.path.join(_mount(controller), cgroup_root, "left"))
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                assert f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except FileNotFoundError:
            pass
    isolator.cleanup("left")        # idempotent
    isolator.cleanup("never-was")   # unknown: nothing to do
    proc.stdout.close()


def test_recover_removes_orphans_and_keeps_known(isolator: CgroupsIsolator, cgroup_root: str) -> None:
    isolator.prepare("known", Limits(cpus=1.0, mem_mb=64))
    isolator.prepare("orphan", Limits(cpus=1.0, mem_mb=64))
    sleeper = subprocess.Popen(isolator.wrap("orphan", ["/bin/sh", "-c", "echo ready; exec sleep 60"]),
                               start_new_session=True, stdout=subprocess.PIPE, text=True)
    assert sleeper.stdout is not None and sleeper.stdout.readline() == "ready\n"
    isolator.close()  # the agent goes away; its cgroups stay

    restarted = CgroupsIsolator(root=cgroup_root, hierarchy=HIERARCHY, enable_cfs=True)
    try:
        with capture_logs() as logs:
            assert restarted.recover({"known", "gone"}) == ["orphan"]
        assert any(e["event"] == "orphan_cgroup_removed" and e["container_id"] == "orphan" for e in logs)
        assert sleeper.wait(timeout=5) == -9
        for controller in CONTROLLERS:
            assert not os.path.exists(os.path.join(_mount(controller), cgroup_root, "orphan"))
            assert os.path.isdir(os.path.join(_mount(controller), cgroup_root, "known"))
        assert restarted.usage("known").cpus_limit == 1.0
        restarted.cleanup("known")
    finally:
        restarted.close()
        sleeper.stdout.close()


def test_usage_and_update(isolator: CgroupsIsolator, cgroup_root: str) -> None:
    isolator.prepare("use", Limits(cpus=1.5, mem_mb=100))
    proc = _launch(isolator, "use", HOLD_40M, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    usage = isolator.usage("use")
    assert 40 * MiB <= usage.mem_rss_bytes < 100 * MiB
    assert usage.mem_total_bytes is not None and usage.mem_total_bytes >= usage.mem_rss_bytes
    assert usage.mem_limit_bytes == 100 * MiB and usage.mem_soft_limit_bytes == 100 * MiB
    assert usage.cpus_limit == 1.5 and usage.processes == 1
    assert 0 < usage.cpus_user_time_secs + usage.cpus_system_time_secs < 10
    assert abs(usage.timestamp - time.time()) < 5
    assert set(usage.to_dict()) >= {"cpus_user_time_secs", "cpus_system_time_secs", "cpus_limit",
                                    "mem_rss_bytes", "mem_limit_bytes", "timestamp"}
    cpu_dir = os.path.join(_mount("cpu"), cgroup_root, "use")
    mem_dir = os.path.join(_mount("memory"), cgroup_root, "use")

    isolator.update("use", Limits(cpus=2.0, mem_mb=200))
    assert cgroupfs.read_int(os.path.join(cpu_dir, "cpu.shares")) == 2048
    assert cgroupfs.read_int(os.path.join(cpu_dir, "cpu.cfs_quota_us")) == 200_000
    assert cgroupfs.read_int(os.path.join(mem_dir, "memory.limit_in_bytes")) == 200 * MiB

    isolator.update("use", Limits(cpus=0.001, mem_mb=10))   # floors; the hard limit is never lowered
    assert cgroupfs.read_int(os.path.join(cpu_dir, "cpu.shares")) == 2
    assert cgroupfs.read_int(os.path.join(cpu_dir, "cpu.cfs_quota_us")) == 1_000
    assert cgroupfs.read_int(os.path.join(mem_dir, "memory.limit_in_bytes")) == 200 * MiB
    assert cgroupfs.read_int(os.path.join(mem_dir, "memory.soft_limit_in_bytes")) == 32 * MiB
    assert isolator.limitation("use") is None

    isolator.update("use", Limits(cpus=1.0, mem_mb=64))     # let it exit quickly
    proc.communicate(input="", timeout=10)
    assert proc.returncode == 0
    isolator.cleanup("use")


def test_posix_usage_of_a_process_tree() -> None:
    with capture_logs() as logs:
        iso = PosixIsolator()
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["posix_isolation_no_limits"]
    iso.prepare("tree", Limits(cpus=1.0, mem_mb=128))
    assert iso.wrap("tree", ["a", "b"]) == ["a", "b"]
    proc = _launch(iso, "tree", TREE, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    usage = iso.usage("tree")
    assert usage.processes == 3
    assert usage.mem_rss_bytes >= 48 * MiB
    assert usage.cpus_user_time_secs + usage.cpus_system_time_secs >= 0.35
    assert usage.cpus_limit is None and usage.mem_limit_bytes is None
    assert iso.limitation("tree") is None
    iso.cleanup("tree")
    assert proc.wait(timeout=5) == -9
    proc.stdin.close()  # type: ignore[union-attr]
    proc.stdout.close()
    iso.close()


def test_cgroups_mem_with_posix_cpu(cgroup_root: str) -> None:
    iso = create_isolator("cgroups/mem,posix/cpu", cgroups_root=cgroup_root)
    try:
        assert isinstance(iso, CompositeIsolator)
        iso.prepare("mix", Limits(cpus=1.0, mem_mb=64))
        code = ("import time\nt = time.process_time()\nwhile time.process_time() - t < 0.2: pass\n"
                "print(open('/proc/self/cgroup').read().strip().replace('\\n', ';'), flush=True)\ninput()\n")
        proc = _launch(iso, "mix", code, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdout is not None
        cgroups = _cgroups_of(proc.stdout.readline())
        assert cgroups["memory"] == f"/{cgroup_root}/mix" and cgroups["cpu"] == "/"
        usage = iso.usage("mix")
        assert usage.mem_limit_bytes == 64 * MiB      # from cgroups
        assert usage.cpus_limit is None               # from posix
        assert usage.cpus_user_time_secs + usage.cpus_system_time_secs >= 0.15
        proc.communicate(input="\n", timeout=10)
        iso.cleanup("mix")
    finally:
        iso.close()
