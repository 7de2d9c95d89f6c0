"""mesopy-agent: run an agent until SIGTERM or SIGINT."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

import structlog

from actors.agent.config import AgentConfig
from actors.cli import (
    announce_http,
    bind_http_or_exit,
    parse_or_exit,
    start_node_or_exit,
    stop_within,
    StopSignals,
)
from actors.flags import FlagError

__all__ = ["PROG", "check_master_flag", "main"]

PROG = "mesopy-agent"
DESCRIPTION = """\
Runs a mesopy agent: it registers with the master at --master (retrying with
backoff while the master is unreachable), offers its --resources and runs
tasks in executors under --work_dir, isolated per --isolation. On SIGTERM or
SIGINT it stops within 5 s and either shuts its executors down (the default)
or leaves them running (--no-shutdown_executors_on_stop). Restarted on the
same --work_dir (after a crash, kill -9 included) it recovers from its
checkpoint: same agent id, the live executors of checkpointing frameworks
reconnected (--recover=reconnect), or killed with --recover=cleanup."""
EXAMPLES = (
    "mesopy-agent --master=127.0.0.1:5050 --port=5051 --work_dir=/var/lib/mesopy",
    "mesopy-agent --master=zk://127.0.0.1:2181/mesos --port=5051",
    (
        'mesopy-agent --master=10.0.0.1:5050 --resources="cpus:4;mem:4096;ports:[31000-32000]" '
        "--isolation=cgroups/cpu,cgroups/mem"
    ),
    "MESOPY_MASTER=127.0.0.1:5050 mesopy-agent --port=0 --attributes='rack:a'",
)

log = structlog.get_logger("mesopy.agent.main")


def check_master_flag(config: AgentConfig) -> None:
    """--master is required and must be host:port or zk://... (the config allows it empty)."""
    master = config.master
    if not master:
        raise FlagError("--master: required, the master's host:port (e.g. --master=127.0.0.1:5050)", "master")
    host, sep, port = master.rpartition(":")
    if not master.startswith("zk://") and (not sep or not host or not port.isdigit()):
        raise FlagError(f"--master: {master!r} has no port; expected host:port, e.g. {master}:5050", "master")


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags, start the agent, serve until SIGTERM/SIGINT, stop within 5 s."""
    args = sys.argv[1:] if argv is None else list(argv)
    parsed = parse_or_exit(
        PROG, AgentConfig, args, description=DESCRIPTION, examples=EXAMPLES, check=check_master_flag
    )
    config = parsed.config
    stopped = threading.Event()  # set when the agent stops by itself (not pykka's own event: a signal sets it)
    signals = StopSignals(stopped)  # from here on a SIGTERM stops the agent cleanly, even mid start-up
    node = start_node_or_exit(PROG, config.ip, config.port, **config.node_options())
    http = bind_http_or_exit(PROG, config, node)  # bound before the actor, which advertises its port
    from actors.agent import spawn_agent
    from actors.agent.recovery import RecoveryError
    from actors.agent.work_dir import WorkDirError

    try:
        agent = spawn_agent(node, config, http=http)  # the agent logs agent_started and agent_stopped itself
    except (WorkDirError, RecoveryError) as e:  # the machine's or checkpoint's fault, not a flag's: exit 1
        print(f"{PROG}: {e}", file=sys.stderr, flush=True)
        stop_within("agent", node.stop)
        raise SystemExit(1) from None

    def watch() -> None:
        agent.actor_stopped.wait()
        stopped.set()

    threading.Thread(target=watch, daemon=True, name="agent-stopped").start()
    if http is not None:
        announce_http(PROG, http, node.host)
    signal_name = signals.wait()
    if http is not None:
        stop_within("agent http", http.stop)
    if signal_name == "stop" and config.recover == "cleanup":  # it never registers: it cleaned up and stopped
        print(f"{PROG}: --recover=cleanup: the executors of {config.work_dir} are killed and its checkpoint "
              "removed; exiting", file=sys.stderr, flush=True)
        stop_within("agent", node.stop)
        return
    if signal_name == "stop":  # the agent stopped by itself: the master shut it down (its reason is logged)
        log.error("agent_exiting", reason="the agent stopped: shut down by the master (see agent_shutdown_by_master)")
        stop_within("agent", node.stop)
        sys.stderr.flush()
        sys.exit(1)
    on_stop = "shutting down executors" if config.shutdown_executors_on_stop else "leaving executors running"
    log.info("agent_stopping", signal=signal_name, executors=on_stop)
    stop_within("agent", node.stop)
    sys.stderr.flush()


if __name__ == "__main__":
    main()
