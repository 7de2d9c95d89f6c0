"""A user of pymesos.subprocess (ported as tests.compat.pymesos_subprocess): runs two
commands on the cluster at MESOS_MASTER through its subprocess-like API and prints
what came back. Written for these tests; the module it drives is pymesos' own."""

from __future__ import annotations

from tests.compat.pymesos_subprocess import CalledProcessError, call, check_output

output = check_output(["echo", "hello from mesos"], cpus=0.1, mem=64)
print("check_output:", repr(output), flush=True)
print("call:", call("echo to-stdout; exit 3", shell=True, cpus=0.1, mem=64), flush=True)
try:
    check_output("exit 5", shell=True, cpus=0.1, mem=64)
except CalledProcessError as e:
    print("check_output raised:", e.returncode, flush=True)
print("done", flush=True)
