"""The master's flags (Mesos names), with their defaults and validation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from actors.allocator.quota import Quota
from actors.ha.election import parse_zk_url
from actors.listen import ListenFlags
from actors.roles import role_error
from actors.master.quota_json import QuotaError, quotas_from_text
from actors.master.rate_limits import parse_rate_limits
from actors.security.flags import MasterSecurityFlags

__all__ = ["ConfigError", "MasterConfig", "load_quota_file", "parse_roles", "parse_weights"]

_BUILTIN_ALLOCATORS = ("hierarchical_drf", "drf", "hierarchical", "strict", "priority")


class ConfigError(ValueError):
    """A bad master flag; the message names the flag and the bad value."""


def _check_role(flag: str, role: str, text: str) -> None:
    error = role_error(role)
    if error is not None:
        raise ConfigError(f"--{flag}: bad role {role!r} in {text!r}: {error}")


def parse_roles(text: str) -> frozenset[str]:
    """``"a,b"`` -> {"a", "b"}; empty text means any role (the empty set)."""
    roles = [r.strip() for r in text.split(",") if r.strip()]
    for role in roles:
        _check_role("roles", role, text)
    return frozenset(roles)


def parse_weights(text: str) -> dict[str, float]:
    """``"role1=2,role2=1"`` -> {"role1": 2.0, "role2": 1.0}; weights must be > 0."""
    out: dict[str, float] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        role, sep, value = (x.strip() for x in entry.partition("="))
        if not sep or not role:
            raise ConfigError(f"--weights: bad entry {entry!r} in {text!r}; expected role=weight")
        _check_role("weights", role, text)
        try:
            weight = float(value)
        except ValueError:
            raise ConfigError(f"--weights: weight {value!r} of role {role!r} is not a number") from None
        if not math.isfinite(weight) or weight <= 0:
            raise ConfigError(f"--weights: weight of role {role!r} must be > 0, got {value!r}")
        out[role] = weight
    return out


def load_quota_file(path: str) -> dict[str, Quota]:
    """The quota table in ``--quota``'s file (none if the file does not exist yet)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConfigError(f"--quota: cannot read {path!r}: {e.strerror}") from None
    try:
        return quotas_from_text(text)
    except QuotaError as e:
        raise ConfigError(f"--quota: bad quota file {path!r}: {e}") from None


@dataclass
class MasterConfig(MasterSecurityFlags, ListenFlags):
    """The master's flags; field names are Mesos' flag names (--ip, --port, --advertise_ip... in ListenFlags)."""

    port: int = field(default=5050, metadata={"help": "port to listen on"})
    allocation_interval: float = field(
        default=1.0, metadata={"help": "seconds between batch allocations (allocation also runs on events)"}
    )
    allocator: str = field(
        default="hierarchical_drf",
        metadata={"help": "allocator: hierarchical_drf, strict, or a dotted path to an AllocatorCore class"},
    )
    roles: str = field(default="", metadata={"help": "comma-separated roles frameworks may use (empty: any)"})
    weights: str = field(default="", metadata={"help": "role weights, as role1=2,role2=1"})
    agent_ping_timeout: float = field(
        default=15.0, metadata={"help": "seconds between pings of an agent, and to wait for its pong"}
    )
    max_agent_ping_timeouts: int = field(
        default=5, metadata={"help": "missed pongs in a row after which an agent is removed"}
    )
    offer_timeout: float = field(
        default=0.0, metadata={"help": "seconds after which an offer is rescinded (0: never)"}
    )
    agent_reregister_timeout: float = field(
        default=600.0, metadata={"help": "seconds agents have to re-register after a master failover"}
    )
    max_completed_frameworks: int = field(
        default=50, metadata={"help": "removed frameworks kept (newest first) for the state endpoint"}
    )
    max_completed_tasks_per_framework: int = field(
        default=1000, metadata={"help": "ended tasks kept per framework (newest) for the state endpoint"}
    )
    max_unreachable_tasks_per_framework: int = field(
        default=1000, metadata={"help": "unreachable tasks kept per framework (newest) for the state endpoint"}
    )
    registry_max_agent_age: float = field(default=14 * 24 * 3600.0, metadata={
        "help": "seconds an unreachable agent is remembered (then its tasks are unknown); Mesos' 2 weeks"})
    registry_max_agent_count: int = field(default=100 * 1024, metadata={
        "help": "unreachable agents remembered at most (the oldest forgotten first)"})
    work_dir: str = field(default="", metadata={
        "help": "directory for the master's registry with --registry=replicated_log (without --zk)"})
    rate_limits: str = field(default="", metadata={
        "help": "framework registration rate limits, Mesos' RateLimits JSON (or file://path); see docs/operators.md"})
    max_frameworks_per_peer: int = field(default=100, metadata={
        "help": "connected frameworks whose schedulers may live at one host:port"})
    zk: str = field(default="", metadata={
        "help": "ZooKeeper URL zk://host:port[,host:port...]/path for leader election among masters "
                "(empty: this master leads alone)"})
    zk_session_timeout: float = field(default=10.0, metadata={
        "help": "seconds of ZooKeeper session timeout; a leader cut off this long stops leading (exits)"})
    registry: str = field(default="in_memory", metadata={
        "help": "where the registry of agents lives without --zk: in_memory, or replicated_log (a file under "
                "--work_dir); with --zk it is kept in ZooKeeper"})
    registry_fetch_timeout: float = field(default=60.0, metadata={
        "help": "seconds a newly elected master waits to read the registry before it gives up (exits)"})
    http_heartbeat_interval: float = field(default=15.0, metadata={
        "help": "seconds between HEARTBEAT events on the v1 HTTP API's streams (scheduler and operator)"})
    quota: str = field(default="", metadata={
        "help": "file holding the roles' quota (an UPDATE_QUOTA body); read at start and rewritten on every "
                "quota change, so quota outlives the master (empty: quota lasts as long as the master)"})
    quorum: int = field(default=0, metadata={
        "help": "accepted for compatibility with Mesos' replicated log (ZooKeeper replicates instead)"})

    def validate(self) -> MasterConfig:
        """Check every flag; raises ConfigError naming the flag and its value. Returns self."""
        try:
            self.validate_listen()
        except ValueError as e:
            raise ConfigError(str(e)) from None
        for name in ("allocation_interval", "agent_ping_timeout", "http_heartbeat_interval"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"--{name} must be > 0, got {value!r}")
        for name in ("offer_timeout", "agent_reregister_timeout", "registry_max_agent_age"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"--{name} must be >= 0, got {value!r}")
        if self.max_agent_ping_timeouts < 1:
            raise ConfigError(f"--max_agent_ping_timeouts must be >= 1, got {self.max_agent_ping_timeouts!r}")
        for name in ("max_completed_frameworks", "max_completed_tasks_per_framework",
                     "max_unreachable_tasks_per_framework", "registry_max_agent_count"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"--{name} must be an integer >= 0, got {value!r}")
        if not self.allocator or (self.allocator not in _BUILTIN_ALLOCATORS and "." not in self.allocator):
            raise ConfigError(
                f"--allocator must be hierarchical_drf, strict or a dotted path pkg.mod.Class, got {self.allocator!r}"
            )
        if self.zk:
            try:
                parse_zk_url(self.zk)
            except ValueError as e:
                raise ConfigError(f"--zk: {e}") from None
        for name in ("zk_session_timeout", "registry_fetch_timeout"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"--{name} must be > 0, got {value!r}")
        if self.registry not in ("in_memory", "replicated_log"):
            raise ConfigError(f"--registry must be in_memory or replicated_log, got {self.registry!r}")
        if self.registry == "replicated_log" and not self.zk and not self.work_dir:
            raise ConfigError("--registry=replicated_log needs --work_dir (where the registry is kept)")
        if self.quota:
            load_quota_file(self.quota)
        if self.quorum < 0:
            raise ConfigError(f"--quorum must be >= 0, got {self.quorum!r}")
        if self.max_frameworks_per_peer < 1:
            raise ConfigError(f"--max_frameworks_per_peer must be >= 1, got {self.max_frameworks_per_peer!r}")
        try:
            parse_rate_limits(self.rate_limits)
            self.load_security()
        except ValueError as e:
            raise ConfigError(str(e)) from None
        parse_roles(self.roles)
        weights = parse_weights(self.weights)
        allowed = parse_roles(self.roles)
        if allowed:
            unknown = sorted(set(weights) - allowed)
            if unknown:
                raise ConfigError(f"--weights: role {unknown[0]!r} is not in --roles {self.roles!r}")
        return self

    @property
    def durable_registry(self) -> bool:
        """The registry outlives this master: in ZooKeeper (--zk) or in --work_dir (replicated_log)."""
        return bool(self.zk) or self.registry == "replicated_log"

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
