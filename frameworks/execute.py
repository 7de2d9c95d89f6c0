"""mesopy-execute: run one shell command on a cluster and follow its states (like mesos-execute)."""

from __future__ import annotations

import getpass
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from actors.cli import parse_or_exit
from actors.flags import FlagError
from actors.ha.election import master_error
from actors.logs import configure_logging
from actors.resources import Resources
from transport.curve import load_public_key
from frameworks.command import CommandScheduler

__all__ = ["PROG", "ExecuteConfig", "check_task_resources", "main", "quiet_unless_asked", "run_command"]

PROG = "mesopy-execute"
DESCRIPTION = """\
Registers a framework with the master at --master, launches --instances tasks
running --command (through the shell) with --resources each, prints each
task's progress (waiting for offers, STAGING, RUNNING, FINISHED...) and exits
0 only if every instance finished (TASK_FINISHED); 1 otherwise. A task's
stdout and stderr are in its sandbox on the agent. SIGINT/SIGTERM stop the
framework (its tasks are killed) and exit 1."""
EXAMPLES = (
    'mesopy-execute --master=127.0.0.1:5050 --name=hello --command="echo hello"',
    'mesopy-execute --master=zk://127.0.0.1:2181/mesos --name=hello --command="echo hello"',
    (
        'mesopy-execute --master=127.0.0.1:5050 --name=batch --command="./job.sh" '
        '--resources="cpus:0.5;mem:128" --instances=4 --role=batch'
    ),
)

log = structlog.get_logger("mesopy.execute")


@dataclass(frozen=True)
class ExecuteConfig:
    """mesopy-execute's flags (mesos-execute's names, plus --instances and --timeout)."""

    master: str = field(metadata={"help": "the master, host:port, or zk://host:port[,...]/path to find the leader"})
    command: str = field(metadata={"help": "shell command each task runs"})
    name: str = field(default="mesopy-execute", metadata={"help": "task name (task ids are <name>-<run>-<i>)"})
    resources: str = field(default="cpus:0.1;mem:32", metadata={"help": "resources of each task"})
    instances: int = field(default=1, metadata={"help": "how many tasks to run"})
    role: str = field(default="*", metadata={"help": "role the framework registers with"})
    framework_name: str = field(default="mesopy-execute", metadata={"help": "the framework's name"})
    user: str = field(default="", metadata={
        "help": "user the tasks run as (FrameworkInfo.user; the agent switches to it when it runs as root)",
        "default_text": "the current user"})
    principal: str = field(default="", metadata={"help": "principal of the framework"})
    secret: str = field(default="", metadata={
        "help": "the principal's secret: authenticate with the master (better given as MESOPY_SECRET)"})
    timeout: float = field(default=0.0, metadata={"help": "give up (exit 1) after this many seconds; 0: never"})
    master_public_key: str = field(default="", metadata={
        "help": "the master's CURVE public key (Z85 text or ZeroMQ's public key file): encrypt the links and "
                "reach only a master holding it"})
    encrypt: bool = field(default=False, metadata={
        "help": "encrypt the links (CURVE); with a zk:// --master the leader's key is read from the election"})

    def validate(self) -> None:
        problem = master_error(self.master)
        if problem:
            raise ValueError(f"--master: {problem} (e.g. 127.0.0.1:5050)")
        if not self.command.strip():
            raise ValueError("--command: must not be empty")
        check_task_resources("resources", self.resources)
        if self.instances < 1:
            raise ValueError(f"--instances: must be >= 1, got {self.instances}")
        if self.timeout < 0:
            raise ValueError(f"--timeout: must be >= 0, got {self.timeout}")
        if self.master_public_key:
            load_public_key(self.master_public_key, "--master_public_key")
        elif self.encrypt and not self.master.startswith("zk://"):
            raise ValueError("--encrypt needs --master_public_key when --master is host:port")
        if self.secret and not self.principal:
            raise ValueError("--secret needs --principal (the principal the secret belongs to)")


def check_task_resources(flag: str, text: str) -> None:
    """A task's resource flag must parse and give the task some cpus or mem (Mesos refuses a
    task that uses no resources); FlagError naming the flag and its value otherwise."""
    try:
        res = Resources.parse(text)
    except ValueError as e:
        raise FlagError(f"--{flag}: {e}", flag) from None
    cpus, mem = res.scalar("cpus"), res.scalar("mem")
    if cpus <= 0 and mem <= 0:
        raise FlagError(
            f"--{flag}: {text!r} gives a task {cpus:g} cpus and {mem:g} MB of mem; at least one must be > 0", flag
        )


def quiet_unless_asked(argv: Sequence[str], log_format: str) -> None:
    """Logs at warning level unless --log_level (or MESOPY_LOG_LEVEL) was given: the
    progress lines are the output; the runtime's info events would bury them."""
    asked = any(a.startswith(("--log_level", "--log-level")) for a in argv) or "MESOPY_LOG_LEVEL" in os.environ
    if not asked:
        configure_logging(log_format, "warning")


def run_command(
    scheduler: CommandScheduler,
    master: str,
    framework_info: dict[str, Any],
    timeout: float = 0.0,
    progress: Callable[[str], None] = lambda line: None,
    *,
    secret: str | None = None,
    master_public_key: str = "",
    encrypt: bool = False,
) -> str:
    """Run ``scheduler`` with a driver until it is done, a signal arrives or ``timeout``.

    Returns "done", "timeout" or the signal's name. The driver is stopped
    (failover=False: the master removes the framework and kills what still runs). With
    ``secret`` the driver authenticates as the FrameworkInfo's principal; ``master_public_key`` and
    ``encrypt`` are the driver's.
    """
    from frameworks import MesosSchedulerDriver

    wake = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, frame: object) -> None:
        received.append(signal.Signals(signum).name)
        wake.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    def relay() -> None:
        scheduler.done.wait()
        wake.set()

    threading.Thread(target=relay, name="execute-done", daemon=True).start()
    driver = MesosSchedulerDriver(scheduler, framework_info, master, principal=framework_info.get("principal"),
                                  secret=secret, master_public_key=master_public_key or None, encrypt=encrypt)
    progress(f"connecting to master {master}")
    driver.start()
    try:
        # Wake up now and then so that signals are handled promptly.
        remaining = timeout if timeout > 0 else None
        while not wake.wait(0.5 if remaining is None else min(0.5, remaining)):
            if remaining is not None:
                remaining -= 0.5
                if remaining <= 0:
                    break
    finally:
        driver.stop()
        driver.join(3.0)
        for s, handler in previous.items():
            signal.signal(s, handler)
    if scheduler.done.is_set():
        return "done"
    return received[0] if received else "timeout"


def _framework_info(config: ExecuteConfig) -> dict[str, Any]:
    info: dict[str, Any] = {
        "user": config.user or getpass.getuser(),
        "name": config.framework_name,
        "roles": [config.role],
        "failover_timeout": 0.0,
    }
    if config.principal:
        info["principal"] = config.principal
    return info


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags, run the command's instances, exit 0 only if every one finished."""
    args = sys.argv[1:] if argv is None else list(argv)
    parsed = parse_or_exit(PROG, ExecuteConfig, args, description=DESCRIPTION, examples=EXAMPLES)
    config = parsed.config
    quiet_unless_asked(args, parsed.common.log_format)

    def progress(line: str) -> None:
        print(f"{PROG}: {line}", flush=True)

    scheduler = CommandScheduler(
        config.command,
        config.resources,
        config.instances,
        name=config.name,
        role=config.role,
        progress=progress,
    )
    outcome = run_command(scheduler, config.master, _framework_info(config), config.timeout, progress,
                          secret=config.secret or None, master_public_key=config.master_public_key,
                          encrypt=config.encrypt)
    finished = sum(1 for s in scheduler.statuses.values() if s.get("state") == "TASK_FINISHED")
    if outcome == "timeout":
        progress(f"timed out after {config.timeout} s")
    elif outcome != "done":
        progress(f"stopped by {outcome}")
    if scheduler.failure:
        progress(f"failed: {scheduler.failure}")
    progress(f"{finished}/{config.instances} instance(s) finished")
    sys.stdout.flush()
    raise SystemExit(0 if outcome == "done" and scheduler.succeeded() else 1)


if __name__ == "__main__":
    main()
