"""A framework program that returns without stop() (or whose driver aborted) exits at once.

pymesos' I/O thread is a daemon; programs written for it end by returning.
Each program here runs in its own interpreter and must be gone within a few
seconds: before the driver's threads were daemons, each hung for ever.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from frameworks.testing import LocalCluster

pytestmark = pytest.mark.integration

PROGRAM = textwrap.dedent("""
    import sys, threading
    from frameworks import MesosSchedulerDriver, Scheduler

    class Sched(Scheduler):
        def __init__(self):
            self.registered_event = threading.Event()
        def registered(self, driver, framework_id, master_info):
            self.registered_event.set()

    sched = Sched()
    driver = MesosSchedulerDriver(sched, {"user": "", "name": "no-stop"}, sys.argv[1])
    driver.start()
    if sys.argv[2] != "unreachable":
        assert sched.registered_event.wait(10), "not registered"
        print("registered", flush=True)
    if sys.argv[2] == "abort":
        driver.abort()
        print("aborted:", driver.aborted, driver.join(), flush=True)
    # ... and returns, without driver.stop()
""")


def run(master: str, mode: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([sys.executable, "-c", PROGRAM, master, mode], capture_output=True, text=True,
                              timeout=8)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"the program did not exit without stop() ({mode}): {e.stdout!r} {e.stderr!r}") from None


@pytest.mark.parametrize("mode", ["registered", "abort"])
def test_a_program_that_never_calls_stop_exits(mode: str) -> None:
    with LocalCluster(agents=1, resources="cpus:1;mem:256") as cluster:
        done = run(cluster.master, mode)
        assert done.returncode == 0, done.stderr
        assert "registered" in done.stdout
        if mode == "abort":
            assert "aborted: True DRIVER_ABORTED" in done.stdout


def test_a_program_still_trying_to_register_exits() -> None:
    done = run("127.0.0.1:9", "unreachable")  # nothing listens: the driver retries until the program ends
    assert done.returncode == 0, done.stderr
