"""mesopy-master: run a master until SIGTERM or SIGINT."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Sequence

import structlog

from actors.cli import (
    announce_http,
    bind_http_or_exit,
    parse_or_exit,
    start_node_or_exit,
    stop_within,
    StopSignals,
)
from actors.master.config import MasterConfig

__all__ = ["GC_THRESHOLD", "PROG", "main", "tune_gc"]

PROG = "mesopy-master"
DESCRIPTION = """\
Runs a mesopy master: agents register with it, frameworks register with it and
get offers of the agents' resources. It listens on --ip:--port (ZeroMQ) and
stops cleanly on SIGTERM or SIGINT. With --zk it is one of several masters:
it leads once ZooKeeper elects it (it prints a line then) and exits non-zero
if it loses its ZooKeeper session while leading, as Mesos does."""
EXAMPLES = (
    "mesopy-master --ip=127.0.0.1 --port=5050",
    "mesopy-master --port=5050 --roles=web,batch --weights=web=2 --allocation_interval=0.5",
    "MESOPY_PORT=6050 mesopy-master --log_format=json",
    "mesopy-master --port=5050 --zk=zk://127.0.0.1:2181/mesos --zk_session_timeout=10secs",
)

log = structlog.get_logger("mesopy.master.main")

# A master holds a large, long-lived heap (agents, offers, tasks): with Python's default
# (700, 10, 10) the collector rescans it every few thousand allocations, which cost
# about 3x on an offer cycle of 10,000 agents (benchmarks/allocator.py).
GC_THRESHOLD = (20_000, 20, 100)


def tune_gc() -> None:
    """Set the master OS process's garbage collector thresholds to ``GC_THRESHOLD``."""
    gc.set_threshold(*GC_THRESHOLD)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags, start the master, serve until SIGTERM/SIGINT, stop within 5 s."""
    args = sys.argv[1:] if argv is None else list(argv)
    config = parse_or_exit(PROG, MasterConfig, args, description=DESCRIPTION, examples=EXAMPLES).config
    tune_gc()
    done = threading.Event()
    signals = StopSignals(done)  # from here on a SIGTERM stops the master cleanly, even mid start-up
    node = start_node_or_exit(PROG, config.ip, config.port, **config.node_options())
    http = bind_http_or_exit(PROG, config, node)  # bound before the actor, which advertises its port
    from actors.master import spawn_master

    lost: list[str] = []

    def elected(pid: str) -> None:
        print(f"{PROG}: {pid} is now the leading master (elected through {config.zk})", file=sys.stderr, flush=True)

    def lost_leadership(reason: str) -> None:
        lost.append(reason)
        done.set()

    spawn_master(node, config, http, on_elected=elected, on_lost_leadership=lost_leadership)
    if http is not None:
        announce_http(PROG, http, node.host)
    signal_name = signals.wait()
    if lost:
        print(f"{PROG}: not leading any more ({lost[0]}); exiting so that another master leads" if config.zk
              else f"{PROG}: cannot go on ({lost[0]}); exiting", file=sys.stderr, flush=True)
    log.info("master_stopping", signal=signal_name)
    if http is not None:
        stop_within("master http", http.stop)
    stop_within("master", node.stop)
    sys.stderr.flush()
    if lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
