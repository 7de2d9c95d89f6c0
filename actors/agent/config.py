"""The agent's flags (Mesos names), with their defaults and validation."""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any

from actors.bounds import check_name
from actors.ha.election import master_error
from actors.listen import ListenFlags
from actors.resources import Resources, ResourcesError
from actors.security.flags import AgentSecurityFlags
from transport.curve import CurveError, CurveKeys, load_key_pair, load_public_key, write_key_files

__all__ = ["AgentConfig", "ConfigError", "parse_attributes"]


class ConfigError(ValueError):
    """A bad agent flag; the message names the flag and the bad value."""


def parse_attributes(text: str) -> list[dict[str, object]]:
    """``"rack:a;zone:b;level:2"`` -> v1 Attribute dicts (SCALAR when the value is a number, else TEXT)."""
    out: list[dict[str, object]] = []
    for item in (x.strip() for x in text.split(";")):
        if not item:
            continue
        name, sep, value = (p.strip() for p in item.partition(":"))
        if not sep or not name or not value:
            raise ConfigError(f"--attributes: bad attribute {item!r} in {text!r}; expected name:value")
        problem = check_name("attribute name", name) or check_name(f"value of attribute {name[:40]!r}", value)
        if problem:
            raise ConfigError(f"--attributes: {problem}")
        try:
            number = float(value)
        except ValueError:
            out.append({"name": name, "type": "TEXT", "text": {"value": value}})
        else:
            if not math.isfinite(number):
                raise ConfigError(f"--attributes: value of {name!r} must be finite, got {value!r}")
            out.append({"name": name, "type": "SCALAR", "scalar": {"value": number}})
    return out


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class AgentConfig(AgentSecurityFlags, ListenFlags):
    """The agent's flags; field names are Mesos' flag names (``slave`` -> ``agent``);
    --ip, --port, --advertise_ip... are in ListenFlags."""

    port: int = field(default=5051, metadata=_help("port to listen on (0: any free port)"))
    master: str = field(default="", metadata=_help(
        "the master to register with: host:port, or zk://host:port[,...]/path to follow the elected leader"))
    master_public_key: str = field(default="", metadata=_help(
        "the master's CURVE public key (Z85 text, or ZeroMQ's public certificate file): with --encrypt the "
        "agent connects only to a master holding it; with a zk:// --master it is read from the election"))
    resources: str = field(default="", metadata=_help(
        "total resources, e.g. 'cpus:4;mem:4096;disk:10240;ports:[31000-32000]' or a JSON list; "
        "those not named are detected (cpus, mem less a reserve, disk of --work_dir less a reserve, ports)"))
    attributes: str = field(default="", metadata=_help("attributes of the agent, e.g. 'rack:a;zone:b'"))
    work_dir: str = field(default="/tmp/mesopy", metadata=_help(
        "directory holding executor sandboxes (work_dir/slaves/<agent_id>/frameworks/...)"))
    isolation: str = field(default="posix/cpu,posix/mem", metadata=_help(
        "isolators (Mesos names): cgroups/cpu,cgroups/mem,cgroups/pids,cgroups/devices,cgroups/blkio (cgroup v1), "
        "disk/du, namespaces/pid, filesystem/linux, network/ports, or posix/cpu,posix/mem (no limits); "
        "as root every container also gets a freezer cgroup"))
    executor_launcher: bool = field(default=True, metadata=_help(
        "fork command executors from a pre-started launcher (zygote) that has imported the executor; "
        "false: exec a fresh interpreter for each (as when the launcher is unavailable)"))
    cgroups_root: str = field(default="mesopy", metadata=_help("cgroup under each hierarchy holding the executors' cgroups"))
    cgroups_hierarchy: str = field(default="/sys/fs/cgroup", metadata=_help(
        "where the cgroup v1 hierarchies are mounted, or a cgroup2 mount (then the cgroups v2 backend is used)"))
    cgroups_enable_cfs: bool = field(default=False, metadata=_help("cap cpu with a CFS quota, not only shares"))
    cgroups_pids_max: int = field(default=0, metadata=_help(
        "cgroups/pids: most processes and threads per container when its resources name no 'pids' (0: no limit)"))
    allowed_devices: str = field(default="", metadata={
        "help": "cgroups/devices: devices a container may use, ';'-separated cgroup entries like 'c 1:3 rwm'",
        "default_text": "null, zero, full, tty, console, ptmx, pts, random, urandom, net/tun, mknod of any"})
    container_disk_watch_interval: float = field(default=15.0, metadata=_help(
        "disk/du: seconds between two measurements of a sandbox's disk usage"))
    enforce_container_disk_quota: bool = field(default=False, metadata=_help(
        "disk/du: kill a container whose sandbox grows past its 'disk' resource (TASK_FAILED, "
        "REASON_CONTAINER_LIMITATION_DISK)"))
    container_ports_watch_interval: float = field(default=30.0, metadata=_help(
        "network/ports: seconds between two checks of the ports a container listens on"))
    enforce_container_ports: bool = field(default=False, metadata=_help(
        "network/ports: kill a task listening on a port not allocated to it (false: log it)"))
    check_agent_port_range_only: bool = field(default=False, metadata=_help(
        "network/ports: only ports inside the agent's 'ports' resource count"))
    sandbox_directory: str = field(default="/mnt/mesos/sandbox", metadata=_help(
        "filesystem/linux: where a container sees its sandbox (MESOS_SANDBOX); its /tmp is the sandbox's tmp"))
    executor_registration_timeout: float = field(default=60.0, metadata=_help(
        "seconds an executor has to register before it is killed"))
    executor_shutdown_grace_period: float = field(default=5.0, metadata=_help(
        "seconds an executor has to exit after ShutdownExecutor before it is killed"))
    task_kill_grace_period: float = field(default=3.0, metadata=_help(
        "seconds between SIGTERM and SIGKILL when the command executor kills a task without a kill_policy"))
    status_update_retry_interval: float = field(default=10.0, metadata=_help(
        "first retry interval of unacknowledged status updates (doubles up to status_update_retry_max)"))
    status_update_retry_max: float = field(default=600.0, metadata=_help(
        "longest retry interval of unacknowledged status updates"))
    credential: str = field(default="", metadata=_help(
        "path (or file:///path) of this agent's credential, {\"principal\", \"secret\"} JSON or one "
        "'principal secret' line: it authenticates with the master before registering"))
    authenticate_http_executors: bool = field(default=False, metadata=_help(
        "executors must present the token the agent gave them (MESOS_EXECUTOR_AUTHENTICATION_TOKEN) to register"))
    registration_backoff_factor: float = field(default=1.0, metadata=_help(
        "initial (re-)registration backoff in seconds, doubled on each retry up to 60 s"))
    switch_user: bool = field(default=True, metadata=_help(
        "when the agent runs as root, run each executor as its CommandInfo.user, else its FrameworkInfo.user"))
    shutdown_executors_on_stop: bool = field(default=True, metadata=_help(
        "when the agent stops, shut its executors down (false: leave them running)"))
    executor_environment: str = field(default="", metadata=_help(
        "extra environment for executors, 'NAME=value;NAME2=value2'"))
    recover: str = field(default="reconnect", metadata=_help(
        "after a restart: 'reconnect' to the live executors of checkpointing frameworks (recovered from "
        "work_dir/meta), or 'cleanup' to kill them, forget the checkpoint and exit"))
    recovery_timeout: float = field(default=900.0, metadata=_help(
        "how long an executor of a checkpointing framework waits for its agent to come back before it "
        "exits (MESOS_RECOVERY_TIMEOUT)"))
    executor_reregistration_timeout: float = field(default=2.0, metadata=_help(
        "seconds recovered executors have to re-register after a restart before they are killed"))
    strict: bool = field(default=True, metadata=_help(
        "a torn or corrupt checkpoint file stops the agent from starting (false: skip what it holds)"))

    def validate(self) -> AgentConfig:
        """Check every flag; raises ConfigError naming the first bad one. Returns self."""
        problem = master_error(self.master) if self.master else None
        if problem:
            raise ConfigError(f"--master: {problem}")
        try:
            self.validate_listen()
        except ValueError as e:
            raise ConfigError(str(e)) from None
        if not self.work_dir:
            raise ConfigError("--work_dir must not be empty")
        try:
            Resources.parse(self.resources)
        except ResourcesError as e:
            raise ConfigError(f"--resources: {e}") from None
        parse_attributes(self.attributes)
        try:
            from isolation import parse_isolation
            from isolation.devices import parse_allowed

            parse_isolation(self.isolation)
        except ValueError as e:
            raise ConfigError(f"--isolation: {e}") from None
        if not self.sandbox_directory.startswith("/"):
            raise ConfigError(f"--sandbox_directory must be an absolute path, got {self.sandbox_directory!r}")
        if self.cgroups_pids_max < 0:
            raise ConfigError(f"--cgroups_pids_max must be >= 0, got {self.cgroups_pids_max}")
        for name in ("container_disk_watch_interval", "container_ports_watch_interval"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"--{name} must be > 0, got {getattr(self, name)}")
        try:
            parse_allowed(self.device_entries())
        except ValueError as e:
            raise ConfigError(f"--allowed_devices: {e}") from None
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("float", float) and (not math.isfinite(value) or value < 0):
                raise ConfigError(f"--{f.name} must be a finite number >= 0, got {value!r}")
        if self.recover not in ("reconnect", "cleanup"):
            raise ConfigError(f"--recover must be 'reconnect' or 'cleanup', got {self.recover!r}")
        if self.status_update_retry_interval <= 0:
            raise ConfigError(f"--status_update_retry_interval must be > 0, got {self.status_update_retry_interval}")
        if self.master_public_key:
            if not self.encrypted:
                raise ConfigError("--master_public_key needs --encrypt (or --curve_secret_key)")
            try:
                load_public_key(self.master_public_key, "--master_public_key")
            except CurveError as e:
                raise ConfigError(str(e)) from None
        elif self.encrypted and self.master and not self.master.startswith("zk://"):
            raise ConfigError("--encrypt needs --master_public_key (the master's CURVE key) when --master is "
                              "host:port (a zk:// master publishes its key in the election)")
        if self.credential:
            from actors.security.credentials import CredentialsError, load_credential

            try:
                load_credential(self.credential)
            except CredentialsError as e:
                raise ConfigError(str(e)) from None
        try:
            self.load_security()
        except ValueError as e:
            raise ConfigError(str(e)) from None
        for item in filter(None, (x.strip() for x in self.executor_environment.split(";"))):
            if "=" not in item or item.startswith("="):
                raise ConfigError(f"--executor_environment: bad entry {item!r}; expected NAME=value")
        return self

    def device_entries(self) -> list[str] | None:
        """--allowed_devices as entries; None (the default set) when empty."""
        entries = [x.strip() for x in self.allowed_devices.split(";") if x.strip()]
        return entries or None

    def isolator_options(self) -> dict[str, Any]:
        """create_isolator's keyword arguments from these flags."""
        return {"cgroups_root": self.cgroups_root, "cgroups_hierarchy": self.cgroups_hierarchy,
                "enable_cfs": self.cgroups_enable_cfs, "pids_max": self.cgroups_pids_max,
                "allowed_devices": self.device_entries(),
                "disk_watch_interval": self.container_disk_watch_interval,
                "enforce_disk_quota": self.enforce_container_disk_quota,
                "sandbox_directory": self.sandbox_directory,
                "ports_watch_interval": self.container_ports_watch_interval,
                "enforce_ports": self.enforce_container_ports,
                "agent_key": hashlib.sha1(os.path.realpath(self.work_dir).encode()).hexdigest()[:12]}

    def curve_keys(self) -> CurveKeys | None:
        """As ListenFlags', but the pair made for a bare --encrypt is kept in work_dir/meta
        (curve.key_secret, mode 0600) and used again after a restart: the executors it launched
        pinned its key, and must find it to reconnect."""
        if self.curve_secret_key or not self.encrypt:
            return super().curve_keys()
        meta = os.path.join(self.work_dir, "meta")
        kept = os.path.join(meta, "curve.key_secret")
        if os.path.exists(kept):
            return load_key_pair(kept)
        from transport.endpoint import generate_key_pair

        keys = generate_key_pair()
        os.makedirs(meta, mode=0o700, exist_ok=True)
        write_key_files(meta, "curve", keys)
        return keys

    def executor_env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in filter(None, (x.strip() for x in self.executor_environment.split(";"))):
            name, _, value = item.partition("=")
            out[name] = value
        return out
