"""Operator flags as real OS processes: --version, --help, --ip/--advertise_ip/--advertise_port,
--work_dir checked at start, --resources messages, --user and --switch_user."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from actors.version import MESOPY_VERSION, MESOS_VERSION, version_line
from tests.integration.operators_support import Script, StateClient, free_port, run_script
from transport.addresses import routable_ip

pytestmark = pytest.mark.integration

SCRIPTS = ("mesopy-master", "mesopy-agent", "mesopy-local", "mesopy-execute")
as_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                             reason="switching users needs root and setpriv")


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_prints_its_version_and_the_mesos_api_level(script: str) -> None:
    result = run_script(script, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == version_line(script) + "\n" and result.stderr == ""
    assert MESOPY_VERSION in result.stdout and MESOS_VERSION in result.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_shows_every_default_once(script: str) -> None:
    result = run_script(script, "--help")
    assert result.returncode == 0
    for line in result.stdout.splitlines():
        assert line.count("default:") <= 1, line
    assert "(default: the advertised IP; env MESOPY_HOSTNAME)" in run_script("mesopy-master", "--help").stdout


@pytest.mark.parametrize("args, status, words", [
    (["--ip=localhost"], 2, ["--ip", "'localhost'", "IPv4"]),
    (["--ip=203.0.113.9"], 1, ["--ip", "203.0.113.9", "cannot bind"]),  # TEST-NET-3: on no interface here
    (["--advertise_ip=0.0.0.0"], 2, ["--advertise_ip", "'0.0.0.0'"]),
])
def test_a_bad_ip_is_one_line_naming_it(args: list[str], status: int, words: list[str]) -> None:
    for script, extra in (("mesopy-master", [f"--port={free_port()}"]),
                          ("mesopy-agent", ["--master=127.0.0.1:5050", "--port=0"])):
        result = run_script(script, *extra, *args)
        lines = result.stderr.splitlines()
        assert result.returncode == status and len(lines) == 1, result.stderr
        assert lines[0].startswith(f"{script}: ") and all(w in lines[0] for w in words), lines[0]


@pytest.mark.parametrize("script, flag, extra", [
    ("mesopy-execute", "resources", ["--master=127.0.0.1:5050", "--command=true"]),
    ("mesopy-local", "task_resources", ["--run=true"]),
])
def test_task_resources_without_cpus_or_mem_are_named_as_given(script: str, flag: str, extra: list[str]) -> None:
    result = run_script(script, *extra, f"--{flag}=cpus:0;mem:0")
    assert result.returncode == 2
    assert result.stderr == f"{script}: --{flag}: 'cpus:0;mem:0' gives a task 0 cpus and 0 MB of mem; at least one must be > 0\n"


# --- --work_dir -----------------------------------------------------------------------


@pytest.mark.parametrize("work_dir, reason", [
    ("/proc/nope", "cannot create it: No such file or directory"),
    ("/proc/self", "cannot write in it"),
    (None, "it exists and is not a directory"),
])
def test_an_unusable_work_dir_is_refused_at_start(tmp_path: Any, work_dir: str | None, reason: str) -> None:
    if work_dir is None:
        work_dir = str(tmp_path / "a-file")
        open(work_dir, "w").close()
    result = run_script("mesopy-agent", f"--master=127.0.0.1:{free_port()}", "--port=0", f"--work_dir={work_dir}",
                        timeout=15)
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"mesopy-agent: --work_dir: cannot use {work_dir!r}: {reason}"), lines[0]
    local = run_script("mesopy-local", f"--work_dir={work_dir}", "--run=true", timeout=15)
    assert local.returncode == 1 and len(local.stderr.splitlines()) == 1 and work_dir in local.stderr, local.stderr


# --- bind on --ip, advertise --advertise_ip/--advertise_port ---------------------------------


def _run_echo(master: str, *flags: str) -> str:
    result = run_script("mesopy-execute", f"--master={master}", "--name=echo", "--command=echo advertised",
                        "--timeout=60", *flags, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1/1 instance(s) finished" in result.stdout
    return result.stdout


def test_a_cluster_bound_to_every_interface_runs_a_task_over_loopback(scripts: list[Script], tmp_path: Any) -> None:
    port = free_port()
    master = Script("mesopy-master", "--ip=0.0.0.0", f"--port={port}", "--advertise_ip=127.0.0.1",
                    "--hostname=master.example", "--allocation_interval=0.1")
    scripts.append(master)
    started = master.wait_for("master_started")
    assert started["pid"] == f"master@127.0.0.1:{port}"
    agent = Script("mesopy-agent", "--ip=0.0.0.0", "--advertise_ip=127.0.0.1", "--port=0",
                   f"--master=127.0.0.1:{port}", f"--work_dir={tmp_path / 'a'}", "--resources=cpus:1;mem:512;disk:512")
    scripts.append(agent)
    agent.wait_for("agent_registered")
    _run_echo(f"127.0.0.1:{port}")
    (stdout,) = glob.glob(f"{tmp_path}/a/slaves/*/frameworks/*/executors/echo-*/runs/[!l]*/stdout")  # not runs/latest
    with open(stdout) as f:
        assert f.read() == "advertised\n"
    client = StateClient(f"127.0.0.1:{port}")
    try:
        state = client.state()
    finally:
        client.close()
    assert state["hostname"] == "master.example" and state["pid"] == f"master@127.0.0.1:{port}"
    (slave,) = state["slaves"]
    assert slave["pid"].startswith("agent(1)@127.0.0.1:") and slave["hostname"] == "127.0.0.1"


def test_a_master_bound_to_every_interface_advertises_the_routable_address(scripts: list[Script]) -> None:
    port = free_port()
    master = Script("mesopy-master", "--ip=0.0.0.0", f"--port={port}")
    scripts.append(master)
    started = master.wait_for("master_started")
    ip = routable_ip()
    assert started["pid"] == f"master@{ip}:{port}" and "0.0.0.0" not in started["pid"]
    client = StateClient(f"127.0.0.1:{port}")  # bound to every interface: loopback reaches it too
    try:
        state = client.state()
    finally:
        client.close()
    assert state["pid"] == f"master@{ip}:{port}" and state["hostname"] == ip


class _Forwarder:
    """A TCP port forwarded to another (as NAT or a container port mapping would)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        for s in self.sockets:
            s.close()


def test_peers_reach_the_master_through_its_advertised_port(scripts: list[Script], tmp_path: Any) -> None:
    bound = free_port()
    forwarder = _Forwarder(bound)
    try:
        master = Script("mesopy-master", f"--port={bound}", f"--advertise_port={forwarder.port}",
                        "--allocation_interval=0.1")
        scripts.append(master)
        assert master.wait_for("master_started")["pid"] == f"master@127.0.0.1:{forwarder.port}"
        agent = Script("mesopy-agent", "--port=0", f"--master=127.0.0.1:{forwarder.port}",
                       f"--work_dir={tmp_path / 'a'}", "--resources=cpus:1;mem:512;disk:512")
        scripts.append(agent)
        agent.wait_for("agent_registered")
        _run_echo(f"127.0.0.1:{forwarder.port}")
    finally:
        forwarder.close()


# --- --user and --switch_user ------------------------------------------------------------


@pytest.fixture
def open_work_dir() -> Iterator[str]:
    """A work_dir the user ``nobody`` can traverse (pytest's tmp_path is private to root)."""
    path = tempfile.mkdtemp(prefix="mesopy-users-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _cluster(scripts: list[Script], work_dir: str, *agent_flags: str) -> str:
    port = free_port()
    master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1")
    scripts.append(master)
    master.wait_for("master_started")
    agent = Script("mesopy-agent", "--port=0", f"--master=127.0.0.1:{port}", f"--work_dir={work_dir}",
                   "--resources=cpus:1;mem:512;disk:512", *agent_flags)
    scripts.append(agent)
    agent.wait_for("agent_registered")
    return f"127.0.0.1:{port}"


def _sandbox(work_dir: str, name: str) -> str:
    (run,) = glob.glob(f"{work_dir}/slaves/*/frameworks/*/executors/{name}-*/runs/[!l]*")  # not runs/latest
    return run


@as_root
@pytest.mark.parametrize("isolation", ["posix/cpu,posix/mem", "cgroups/cpu,cgroups/mem"])
def test_the_task_runs_as_the_framework_user_in_a_sandbox_it_owns(
        scripts: list[Script], open_work_dir: str, isolation: str) -> None:
    if isolation.startswith("cgroups") and not os.path.isdir("/sys/fs/cgroup/memory"):
        pytest.skip("needs cgroup v1")
    master = _cluster(scripts, open_work_dir, f"--isolation={isolation}")
    result = run_script("mesopy-execute", f"--master={master}", "--name=who", "--user=nobody",
                        "--command=id -un; touch made-here", "--timeout=60", timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    sandbox = _sandbox(open_work_dir, "who")
    with open(os.path.join(sandbox, "stdout")) as f:
        assert f.read() == "nobody\n"
    nobody = pwd.getpwnam("nobody")
    for path in (sandbox, os.path.join(sandbox, "stdout"), os.path.join(sandbox, "made-here")):
        assert (os.stat(path).st_uid, os.stat(path).st_gid) == (nobody.pw_uid, nobody.pw_gid), path


@as_root
def test_an_unknown_user_fails_the_task_naming_the_user(scripts: list[Script], open_work_dir: str) -> None:
    master = _cluster(scripts, open_work_dir)
    result = run_script("mesopy-execute", f"--master={master}", "--user=no-such-user-xyz", "--command=true",
                        "--timeout=60", timeout=90)
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "'no-such-user-xyz'" in result.stdout, result.stdout


@as_root
def test_no_switch_user_runs_the_task_as_the_agent(scripts: list[Script], open_work_dir: str) -> None:
    master = _cluster(scripts, open_work_dir, "--no-switch_user")
    result = run_script("mesopy-execute", f"--master={master}", "--name=who", "--user=nobody",
                        "--command=id -un", "--timeout=60", timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(os.path.join(_sandbox(open_work_dir, "who"), "stdout")) as f:
        assert f.read() == "root\n"
