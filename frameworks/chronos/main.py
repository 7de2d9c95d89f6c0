"""mesopy-chronos: Chronos (cron for the cluster) on mesopy's public framework SDK. See --help."""

from __future__ import annotations

import getpass
import socket
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from actors.cli import StopSignals, announce_http, parse_or_exit, stop_within
from actors.ha.election import master_error
from frameworks.chronos.api import ChronosApi
from frameworks.chronos.job import JobDefaults
from frameworks.chronos.scheduler import ChronosScheduler, framework_info
from frameworks.chronos.service import ChronosService
from frameworks.leadership import Leadership
from frameworks.serving import bind_http_or_exit, start_leadership_or_exit
from frameworks.state import StateStore, open_store

__all__ = ["PROG", "ChronosConfig", "main"]

PROG = "mesopy-chronos"
WEEK = 7 * 86400.0
DESCRIPTION = """\
Chronos for mesopy: runs jobs on ISO 8601 repeating schedules and after other
jobs succeed, as tasks on the cluster whose master is --master, with Chronos'
REST API (under /scheduler/ and /v1/scheduler/) and web UI on --http_port.
Jobs and run state are kept in --state_dir, or in ZooKeeper with --zk, where
several instances elect one leader (the others forward API calls to it)."""
EXAMPLES = (
    "mesopy-chronos --master=127.0.0.1:5050 --state_dir=/var/lib/mesopy-chronos",
    "mesopy-chronos --master=zk://127.0.0.1:2181/mesos --zk=zk://127.0.0.1:2181/chronos --http_port=4400",
)

log = structlog.get_logger("mesopy.chronos")


@dataclass(frozen=True)
class ChronosConfig:
    """mesopy-chronos' flags (Chronos' names where it has them)."""

    master: str = field(metadata={"help": "the Mesos master, host:port or zk://host:port[,...]/path"})
    zk: str = field(default="", metadata={
        "help": "zk://host:port[,...]/path: keep state in ZooKeeper there and elect one leader among instances",
        "default_text": "none: --state_dir, one instance"})
    zk_timeout: int = field(default=10000, metadata={
        "help": "milliseconds of ZooKeeper session timeout: a leader cut off this long loses its leadership"})
    state_dir: str = field(default="", metadata={"help": "directory for jobs and run state (without --zk)"})
    http_address: str = field(default="0.0.0.0", metadata={"help": "address the HTTP API listens on"})
    http_port: int = field(default=4400, metadata={"help": "port of the REST API and web UI (0: any free port)"})
    hostname: str = field(default="", metadata={
        "help": "this instance's host name, advertised to the other instances and in FrameworkInfo",
        "default_text": "--http_address, or the host's name for 0.0.0.0"})
    framework_name: str = field(default="chronos", metadata={"help": "the framework's name"})
    failover_timeout: float = field(default=WEEK, metadata={
        "help": "seconds the master keeps the framework's tasks while no instance is connected",
        "default_text": "604800 (a week)"})
    mesos_checkpoint: bool = field(default=True, metadata={"help": "ask agents to checkpoint the tasks"})
    mesos_role: str = field(default="*", metadata={"help": "role the framework registers with"})
    user: str = field(default="", metadata={"help": "user jobs run as unless they name a runAsUser",
                                             "default_text": "the current user"})
    mesos_task_cpu: float = field(default=0.1, metadata={"help": "cpus of a job that names none"})
    mesos_task_mem: int = field(default=128, metadata={"help": "MB of mem of a job that names none"})
    mesos_task_disk: int = field(default=256, metadata={"help": "MB of disk of a job that names none"})
    task_epsilon: int = field(default=60, metadata={"help": "seconds a run may start late, for a job without epsilon"})
    default_retries: int = field(default=2, metadata={"help": "retries of a job that names none"})

    def validate(self) -> None:
        problem = master_error(self.master)
        if problem:
            raise ValueError(f"--master: {problem} (e.g. 127.0.0.1:5050)")
        if self.zk:
            problem = master_error(self.zk)
            if problem or not self.zk.startswith("zk://"):
                raise ValueError(f"--zk: {self.zk!r} is not zk://host:port[,...]/path")
            if self.zk_timeout <= 0:
                raise ValueError(f"--zk_timeout: must be > 0 milliseconds, got {self.zk_timeout}")
        elif not self.state_dir:
            raise ValueError("--state_dir: required without --zk (where jobs and run state are kept)")
        if not 0 <= self.http_port < 65536:
            raise ValueError(f"--http_port: must be in 0-65535, got {self.http_port}")
        if self.failover_timeout < 0:
            raise ValueError(f"--failover_timeout: must be >= 0, got {self.failover_timeout}")
        for name in ("mesos_task_cpu", "mesos_task_mem", "mesos_task_disk", "task_epsilon", "default_retries"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name}: must be >= 0, got {getattr(self, name)}")
        if not self.framework_name.strip():
            raise ValueError("--framework_name: must not be empty")

    def defaults(self) -> JobDefaults:
        return JobDefaults(cpus=self.mesos_task_cpu, mem=float(self.mesos_task_mem), disk=float(self.mesos_task_disk),
                           epsilon=f"PT{self.task_epsilon}S", user=self.user or getpass.getuser(), retries=self.default_retries)


def _advertised(config: ChronosConfig) -> str:
    if config.hostname:
        return config.hostname
    return socket.gethostname() if config.http_address == "0.0.0.0" else config.http_address


class Instance:
    """One mesopy-chronos process: leads (service and driver) or forwards to the leader."""

    def __init__(self, config: ChronosConfig, store: StateStore, url: str, done: threading.Event) -> None:
        self.config = config
        self.store = store
        self.url = url
        self.done = done
        self.service: ChronosService | None = None
        self.driver: Any = None
        self.reason = ""

    def elected(self) -> None:
        try:
            self._lead()
        except Exception as e:  # e.g. the store cannot be read: another instance should lead
            log.exception("chronos_cannot_lead")
            self.lost(f"cannot take the lead: {e}")

    def _lead(self) -> None:
        from frameworks import MesosSchedulerDriver

        config = self.config
        defaults = config.defaults()
        service = ChronosService(self.store, defaults, role=config.mesos_role, user=defaults.user)
        service.load()
        scheduler = ChronosScheduler(service)
        info = framework_info(config.framework_name, defaults.user, config.mesos_role, config.failover_timeout,
                              _advertised(config), self.url, service.framework_id(), config.mesos_checkpoint)
        self.driver = MesosSchedulerDriver(scheduler, info, config.master, implicit_acknowledgements=False)
        self.driver.start()
        service.driver = self.driver
        service.start_clock()
        self.service = service
        log.info("chronos_leading", framework_id=service.framework_id(), jobs=len(service.runner.jobs))
        threading.Thread(target=self._watch, args=(scheduler,), name="chronos-error", daemon=True).start()

    def _watch(self, scheduler: ChronosScheduler) -> None:
        scheduler.failed.wait()
        self.lost(scheduler.message)

    def lost(self, reason: str) -> None:
        self.reason = reason
        self.done.set()

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
        if self.driver is not None:  # failover: the master keeps the tasks for --failover_timeout
            self.driver.stop(failover=True)
            self.driver.join(3.0)


def main(argv: Sequence[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    config = parse_or_exit(PROG, ChronosConfig, args, description=DESCRIPTION, examples=EXAMPLES).config
    done = threading.Event()
    signals = StopSignals(done)
    http = bind_http_or_exit(PROG, config.http_address, config.http_port, "chronos-http")
    host = _advertised(config)
    url = http.url(host)
    try:
        store = open_store(config.zk or None, config.state_dir, "chronos")
    except Exception as e:
        print(f"{PROG}: {'--zk' if config.zk else '--state_dir'}: cannot open the state store: {e}",
              file=sys.stderr, flush=True)
        http.stop()
        raise SystemExit(1) from None
    instance = Instance(config, store, url, done)
    leadership = Leadership(config.zk or None, {"host": host, "http_port": http.port},
                            on_elected=instance.elected, on_lost=instance.lost,
                            session_timeout=config.zk_timeout / 1000.0)
    ChronosApi(lambda: instance.service, leadership.leader_address, f"{host}:{http.port}").install(http)
    http.start()

    def cleanup() -> None:  # ZooKeeper cannot be reached
        http.stop()
        store.close()
    start_leadership_or_exit(PROG, leadership, cleanup)
    announce_http(PROG, http, host)
    signal_name = signals.wait()
    log.info("chronos_stopping", signal=signal_name, reason=instance.reason)
    if instance.reason:
        print(f"{PROG}: {instance.reason}; exiting", file=sys.stderr, flush=True)
    stop_within("chronos", instance.stop)
    stop_within("leadership", leadership.stop)
    stop_within("chronos http", http.stop)
    store.close()
    sys.stderr.flush()
    if instance.reason:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
