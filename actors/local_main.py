"""mesopy-local: a master, its allocator and N agents in one process; with --run,
run one command as a task on them and exit with its status.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from actors.agent.work_dir import WorkDirError
from actors.cli import StopSignals, parse_or_exit, stop_within
from actors.flags import FlagError
from actors.local import DEFAULT_AGENT_RESOURCES, LocalClusterRunner, find_sandbox_file
from actors.resources import Resources
from transport.endpoint import AddressInUse

__all__ = ["PROG", "LocalConfig", "main"]

PROG = "mesopy-local"
DESCRIPTION = """\
Runs a whole mesopy cluster in this one process: a master (with its allocator)
and --agents agents, on 127.0.0.1:--port. With --run "<command>" it runs the
command as a task, prints each state change on stderr, prints the task's
stdout on stdout and exits with the command's exit status. Without --run it
serves until SIGTERM or SIGINT: point frameworks (or mesopy-execute) at the
master address it logs."""
EXAMPLES = (
    'mesopy-local --agents 2 --run "echo hello"',
    'mesopy-local --agents 3 --resources "cpus:2;mem:1024" --port 5050',
    'mesopy-local --isolation cgroups/cpu,cgroups/mem --run "python3 -c \'print(42)\'"',
    'mesopy-local --secure --work_dir /tmp/secured   # credentials in /tmp/secured/security/',
)

log = structlog.get_logger("mesopy.local")


@dataclass(frozen=True)
class LocalConfig:
    """mesopy-local's flags."""

    agents: int = field(default=1, metadata={"help": "how many agents to run"})
    resources: str = field(default=DEFAULT_AGENT_RESOURCES, metadata={"help": "resources of each agent"})
    isolation: str = field(
        default="posix", metadata={"help": "the agents' isolators: posix, or cgroups/cpu,cgroups/mem"}
    )
    port: int | None = field(
        default=None, metadata={"help": "the master's port", "default_text": "5050; with --run any free port"}
    )
    work_dir: str = field(
        default="", metadata={"help": "agents' work dirs go under it",
                              "default_text": "a temporary directory, removed at exit"}
    )
    run: str = field(default="", metadata={"help": "shell command to run as a task; exit with its status"})
    task_resources: str = field(default="cpus:0.1;mem:32", metadata={"help": "resources of the --run task"})
    allocation_interval: float = field(default=1.0, metadata={"help": "seconds between batch allocations"})
    timeout: float = field(default=0.0, metadata={"help": "with --run: give up (exit 1) after this many seconds; 0: never"})
    secure: bool = field(default=False, metadata={
        "help": "turn on every authentication check with generated credentials (printed: where they are)"})

    def validate(self) -> None:
        if self.agents < 1:
            raise ValueError(f"--agents: must be >= 1, got {self.agents}")
        if self.port is not None and not 0 <= self.port < 65536:
            raise ValueError(f"--port: must be in 0-65535, got {self.port}")
        try:
            Resources.parse(self.resources)
        except ValueError as e:
            raise FlagError(f"--resources: {e}", "resources") from None
        from frameworks.execute import check_task_resources

        check_task_resources("task_resources", self.task_resources)
        from isolation import parse_isolation

        if self.isolation not in ("posix", "cgroups"):
            try:
                parse_isolation(self.isolation)
            except ValueError as e:
                raise FlagError(f"--isolation: {e}", "isolation") from None


def _err(line: str) -> None:
    print(f"{PROG}: {line}", file=sys.stderr, flush=True)


def _run(runner: LocalClusterRunner, config: LocalConfig) -> int:
    from frameworks.command import CommandScheduler
    from frameworks.execute import run_command

    if not runner.wait_for_agents(timeout=15.0):
        _err("agents did not register with the master within 15 s")
        return 1
    kept = bool(config.work_dir)  # a temporary work dir is removed at exit: name no path in it as if it stayed
    note = "" if kept else " (removed at exit; --work_dir=DIR keeps it)"
    scheduler = CommandScheduler(config.run, config.task_resources, 1, name="run", progress=_err, sandbox_note=note)
    info = {"user": getpass.getuser(), "name": PROG, "failover_timeout": 0.0}
    secret, key = None, ""
    if runner.security is not None:
        info["principal"], secret = runner.security.principal, runner.security.secret
        key = runner.security.master_public_key
    outcome = run_command(scheduler, runner.master, info, config.timeout, _err, secret=secret, master_public_key=key)
    if outcome != "done":
        _err("timed out" if outcome == "timeout" else f"stopped by {outcome}")
        return 1
    if scheduler.failure:
        _err(f"failed: {scheduler.failure}")
        return 1
    task_id = scheduler.task_ids[0]
    status = scheduler.statuses.get(task_id, {})
    executor = status.get("executor_id") or {}
    executor_id = executor.get("value", task_id) if isinstance(executor, dict) else str(executor)
    sandbox = scheduler.sandboxes.get(task_id)
    stdout: str | None = os.path.join(sandbox, "stdout") if sandbox else None
    if stdout is None or not os.path.exists(stdout):
        stdout = find_sandbox_file(runner.work_dir, scheduler.framework_id or "*", executor_id or task_id)
    if stdout is None and executor_id != task_id:
        stdout = find_sandbox_file(runner.work_dir, scheduler.framework_id or "*", task_id)
    if stdout is None:
        _err(f"no stdout found for task {task_id} under {runner.work_dir if kept else 'the temporary work dir'}")
    else:
        with open(stdout, "rb") as f:
            sys.stdout.buffer.write(f.read())
        sys.stdout.flush()
    code = scheduler.exit_status()
    if code != 0 and stdout is not None:
        _show_tail(stdout[: -len("stdout")] + "stderr", kept)
    return code


def _show_tail(path: str, kept: bool, lines: int = 20) -> None:
    """The last lines of a failed task's sandbox stderr, on our stderr (named by path only if it stays)."""
    try:
        with open(path, "rb") as f:
            tail = f.read().decode(errors="replace").splitlines()[-lines:]
    except OSError:
        return
    _err(f"last lines of {path}:" if kept else "last lines of the task's stderr:")
    for line in tail:
        print(f"  {line}", file=sys.stderr)
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> None:
    """Start the cluster; run --run's command and exit with its status, or serve until a signal."""
    args = sys.argv[1:] if argv is None else list(argv)
    parsed = parse_or_exit(PROG, LocalConfig, args, description=DESCRIPTION, examples=EXAMPLES)
    config = parsed.config
    if config.run:
        from frameworks.execute import quiet_unless_asked

        quiet_unless_asked(args, parsed.common.log_format)
    # serving until a signal: caught from here on, so a SIGTERM mid start-up stops cleanly
    signals = None if config.run else StopSignals()
    port = config.port if config.port is not None else (0 if config.run else 5050)
    runner = LocalClusterRunner(
        agents=config.agents,
        resources=config.resources,
        isolation=config.isolation,
        work_dir=config.work_dir or None,
        port=port,
        allocation_interval=config.allocation_interval,
        http_port=port - 10 if port else 0,
        secure=config.secure,
    )
    try:
        runner.start()
    except AddressInUse as e:
        _err(f"--port: {e}; pick another with --port")
        raise SystemExit(1) from None
    except WorkDirError as e:  # one agent's work dir under --work_dir cannot be used
        _err(str(e))
        raise SystemExit(1) from None
    status = 0
    # stdout carries the --run task's output: then the URL goes to stderr
    print(f"{PROG}: HTTP endpoints at {runner.http}/", file=sys.stderr if config.run else sys.stdout, flush=True)
    if runner.security is not None:
        _err(f"secured: principals and secrets in {runner.security.credentials_file} (frameworks: "
             f"{runner.security.principal!r}, HTTP Basic: {runner.security.operator!r}); links encrypted "
             f"(CURVE): --master_public_key={runner.security.master_public_key_file}")
    try:
        if config.run:
            status = _run(runner, config)
        else:
            log.info("local_cluster_ready", master=runner.master, agents=runner.agents, work_dir=runner.work_dir)
            assert signals is not None
            signal_name = signals.wait()
            log.info("local_cluster_stopping", signal=signal_name)
    finally:
        stop_within("local cluster", runner.stop)
    sys.stderr.flush()
    raise SystemExit(status)


if __name__ == "__main__":
    main()
