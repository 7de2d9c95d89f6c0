"""mesopy-marathon: Marathon on mesopy (see --help)."""

from __future__ import annotations

import getpass
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from actors.cli import StopSignals, parse_or_exit, stop_within
from actors.ha.election import master_error
from frameworks.marathon.api import ApiInfo, install_routes
from frameworks.marathon.events import EventBus
from frameworks.marathon.scheduler import MarathonScheduler
from frameworks.marathon.ui import WEBUI_DIR, install_ui
from frameworks.leadership import Leadership
from frameworks.serving import bind_http_or_exit, start_leadership_or_exit
from frameworks.state import StateStore, open_store

__all__ = ["PROG", "MarathonConfig", "main"]

PROG = "mesopy-marathon"
WEEK = 604800.0
DESCRIPTION = """\
Marathon for mesopy: keeps long-running apps up on the cluster at --master, behind
Marathon's v2 REST API and a web UI on --http_port. App definitions, deployments and
task ids are kept in --state_dir (or in ZooKeeper under --zk); the framework
registers with checkpointing and --failover_timeout, so a restarted instance carries
on with the same framework id and every task still running."""
EXAMPLES = (
    "mesopy-marathon --master=127.0.0.1:5050 --state_dir=/var/lib/mesopy-marathon",
    "mesopy-marathon --master=zk://127.0.0.1:2181/mesos --zk=zk://127.0.0.1:2181/marathon",
)

log = structlog.get_logger("mesopy.marathon")


@dataclass(frozen=True)
class MarathonConfig:
    """Marathon's flags (its names where it has them)."""

    master: str = field(metadata={"help": "the Mesos master: host:port, or zk://host:port[,...]/path"})
    zk: str = field(default="", metadata={
        "help": "zk://host:port[,...]/path: keep state in ZooKeeper there (else in --state_dir)"})
    zk_session_timeout: int = field(default=10000, metadata={
        "help": "milliseconds without ZooKeeper after which the leader steps down and another is elected"})
    http_port: int = field(default=8080, metadata={"help": "port of the REST API and UI (0: a free port)"})
    http_address: str = field(default="0.0.0.0", metadata={"help": "address the REST API listens on"})
    hostname: str = field(default="", metadata={
        "help": "the host name this instance advertises (leader, task links)", "default_text": "this machine's"})
    state_dir: str = field(default="marathon-state", metadata={"help": "directory for the state without --zk"})
    framework_name: str = field(default="marathon", metadata={"help": "the framework's name"})
    failover_timeout: float = field(default=WEEK, metadata={
        "help": "seconds the master keeps the framework's tasks while no instance is connected"})
    mesos_role: str = field(default="*", metadata={"help": "the role the framework registers with"})
    mesos_user: str = field(default="", metadata={"help": "the user tasks run as", "default_text": "the current user"})

    def validate(self) -> None:
        problem = master_error(self.master)
        if problem:
            raise ValueError(f"--master: {problem} (e.g. 127.0.0.1:5050)")
        if self.zk and not self.zk.startswith("zk://"):
            raise ValueError(f"--zk: must be zk://host:port[,...]/path, got {self.zk!r}")
        if not 0 <= self.http_port <= 65535:
            raise ValueError(f"--http_port: must be 0 to 65535, got {self.http_port}")
        if self.failover_timeout < 0:
            raise ValueError(f"--failover_timeout: must be >= 0, got {self.failover_timeout}")
        if self.zk_session_timeout < 1000:
            raise ValueError(f"--zk_session_timeout: must be >= 1000 ms, got {self.zk_session_timeout}")
        if not self.zk and not self.state_dir:
            raise ValueError("--state_dir: must not be empty without --zk")


def _framework_info(config: MarathonConfig, framework_id: str | None, hostname: str, url: str) -> dict[str, object]:
    info: dict[str, object] = {
        "user": config.mesos_user or getpass.getuser(), "name": config.framework_name,
        "failover_timeout": config.failover_timeout, "checkpoint": True, "roles": [config.mesos_role],
        "hostname": hostname, "webui_url": url,
    }
    if framework_id:
        info["id"] = {"value": framework_id}
    return info


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags, serve the API, and once elected (at once without --zk) load the state and
    register; serve until SIGTERM/SIGINT, or exit 1 when the leadership is lost."""
    args = sys.argv[1:] if argv is None else list(argv)
    config = parse_or_exit(PROG, MarathonConfig, args, description=DESCRIPTION, examples=EXAMPLES).config
    signals = StopSignals()
    hostname = config.hostname or socket.gethostname()
    http = bind_http_or_exit(PROG, config.http_address, config.http_port, "marathon-http")
    url = http.url(hostname)
    info = ApiInfo(config.master, config.zk or None, hostname, http.port, config.framework_name,
                   config.failover_timeout, config.mesos_user or getpass.getuser(), config.mesos_role, WEBUI_DIR)
    running: list[tuple[MarathonScheduler, Any, StateStore]] = []
    lost: list[str] = []

    def elected() -> None:
        store = open_store(config.zk or None, config.state_dir, "marathon")
        scheduler = MarathonScheduler(store, EventBus())
        from frameworks import MesosSchedulerDriver

        framework = _framework_info(config, scheduler.core.framework_id, hostname, url)
        driver = MesosSchedulerDriver(scheduler, framework, config.master, failover=True)
        scheduler.driver = driver
        running.append((scheduler, driver, store))
        api.attach(scheduler)
        driver.start()
        scheduler.start_ticking()
        log.info("marathon_elected", url=url + "/", framework_id=scheduler.core.framework_id)

    def lost_leadership(reason: str) -> None:
        lost.append(reason)
        signals.event.set()

    leadership = Leadership(config.zk or None, {"host": hostname, "http_port": http.port},
                            on_elected=elected, on_lost=lost_leadership,
                            session_timeout=config.zk_session_timeout / 1000.0)
    api = install_routes(http, info, leadership)
    install_ui(http)
    http.start()
    start_leadership_or_exit(PROG, leadership, lambda: stop_within("http", http.stop))
    print(f"{PROG}: REST API and UI at {url}/", flush=True)
    log.info("marathon_ready", url=url + "/", zk=config.zk or None)
    signal_name = signals.wait()
    if lost:
        print(f"{PROG}: not leading any more ({lost[0]}); exiting so that another instance leads",
              file=sys.stderr, flush=True)
    log.info("marathon_stopping", signal=signal_name, lost=lost[0] if lost else None)
    stop_within("leadership", leadership.stop)
    for scheduler, driver, store in running:
        scheduler.stop_ticking()

        def stop_driver() -> None:  # failover: the master keeps the tasks for --failover_timeout
            driver.stop(failover=True)
            driver.join(3.0)
        stop_within("driver", stop_driver)
        scheduler.events.close()
        store.close()
    stop_within("http", http.stop)
    sys.stderr.flush()
    if lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
