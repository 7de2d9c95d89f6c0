"""``mesopy``: the command-line client over the master's and agents' HTTP
endpoints (Mesos' CLI and mesos-ps/cat/tail are the models).

Flags go through the shared flag machinery (actors/flags.py: ``--help``,
``--version``, ``MESOPY_MASTER``...) and may come before or after the
subcommand; the words that are not flags are the subcommand and its
arguments. Exit status: 0 done, 1 the cluster could not answer (unknown or
ambiguous task, unreachable master...), 2 bad usage. It lives beside
actors/cli.py (the helpers every operator script shares), not in it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from actors.cli import parse_or_exit
from actors.flags import FlagError, flag_error_exit, flag_specs
from actors.mesopy_client import TERMINAL, ClientError, MesopyClient, pick_task

__all__ = ["PROG", "MesopyConfig", "main", "split_words"]

PROG = "mesopy"
DESCRIPTION = """\
Shows a mesopy cluster from its master's HTTP endpoints.

Subcommands:
  state                  the master's state (JSON)
  agents                 the agents: id, host, active, cpus and mem used/total
  frameworks             the frameworks: id, name, role, active, tasks, cpus, mem
  tasks [--all]          running tasks (--all: ended ones too)
  cat TASK [FILE]        a file of the task's sandbox (default stdout)
  tail [-f] TASK [FILE]  its last --lines lines; -f/--follow prints what is written
                         until the task ends
  why FRAMEWORK          why a framework gets no offers: suppressed, decline filters,
                         outstanding offers, its share beside its role's others
  quota [ROLE]           the roles' quota (guarantees, limits, consumed); with ROLE and
                         --guarantee / --limit (e.g. 'cpus:2;mem:1024') sets it
                         (--force: even below consumption), with --remove removes it
TASK and FRAMEWORK are an id or a unique prefix of one."""
EXAMPLES = (
    "mesopy --master=127.0.0.1:5040 tasks",
    "MESOPY_MASTER=10.0.0.1:5040 mesopy agents --json",
    "mesopy tail -f my-task stderr",
    "mesopy quota eng --guarantee='cpus:2;mem:1024' --limit='cpus:4;mem:4096'",
)
SUBCOMMANDS = {"state": (0, 0), "agents": (0, 0), "frameworks": (0, 0), "tasks": (0, 0), "cat": (1, 2),
               "tail": (1, 2), "why": (1, 1), "quota": (0, 1)}
CHUNK = 64 * 1024


@dataclass
class MesopyConfig:
    master: str = field(default="127.0.0.1:5040", metadata={"help": "the master's HTTP address, host:port or a URL"})
    json: bool = field(default=False, metadata={"help": "print JSON (for scripts) instead of tables"})
    all: bool = field(default=False, metadata={"help": "tasks: ended tasks too"})
    follow: bool = field(default=False, metadata={"help": "tail: keep printing what is written (also -f)"})
    lines: int = field(default=10, metadata={"help": "tail: how many last lines to print"})
    poll: float = field(default=0.5, metadata={"help": "tail -f: seconds between reads"})
    timeout: float = field(default=10.0, metadata={"help": "seconds to wait for each HTTP answer"})
    principal: str = field(default="", metadata={"help": "HTTP Basic principal (masters with --authenticate_http_*)"})
    secret: str = field(default="", metadata={"help": "the principal's secret (better: MESOPY_SECRET)"})
    ssl_ca_file: str = field(default="", metadata={
        "help": "PEM CA certificates an https:// --master is checked with (else LIBPROCESS_SSL_CA_FILE, else "
                "the system's)"})
    guarantee: str = field(default="", metadata={"help": "quota ROLE: the guarantees, as 'cpus:2;mem:1024'"})
    limit: str = field(default="", metadata={"help": "quota ROLE: the limits, as 'cpus:4;mem:4096'"})
    force: bool = field(default=False, metadata={"help": "quota ROLE: set it even if the checks refuse it"})
    remove: bool = field(default=False, metadata={"help": "quota ROLE: remove the role's quota"})

    def validate(self) -> None:
        if self.lines < 0:
            raise ValueError(f"--lines must be >= 0, got {self.lines}")
        if not 0 < self.poll <= 60:
            raise ValueError(f"--poll must be in (0, 60], got {self.poll}")
        if self.timeout <= 0:
            raise ValueError(f"--timeout must be > 0, got {self.timeout}")


def split_words(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """argv -> (flags, words): ``-f`` is ``--follow``; ``--flag value`` stays together."""
    needs_value = {s.name for s in flag_specs(MesopyConfig) if not s.is_bool} | {"log_format", "log_level"}
    flags: list[str] = []
    words: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "-f":
            flags.append("--follow")
        elif arg.startswith("-") and arg != "-":
            flags.append(arg)
            name = arg.lstrip("-").replace("-", "_")
            if "=" not in arg and name in needs_value and args:
                flags.append(args.pop(0))
        else:
            words.append(arg)
    return flags, words


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        _out("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def _num(value: Any) -> str:
    return f"{float(value or 0):g}"


def _pair(used: dict[str, Any], total: dict[str, Any], name: str) -> str:
    return f"{_num(used.get(name))}/{_num(total.get(name))}"


def show_agents(client: MesopyClient, config: MesopyConfig) -> None:
    agents = client.agents()
    if config.json:
        return _out(json.dumps(agents, indent=2))
    rows = [[a["id"], a.get("hostname", ""), "yes" if a.get("active") else "no",
             _pair(a.get("used_resources", {}), a.get("resources", {}), "cpus"),
             _pair(a.get("used_resources", {}), a.get("resources", {}), "mem"),
             f"{(a.get('address') or {}).get('ip', '')}:{(a.get('address') or {}).get('port', '')}"]
            for a in agents]
    _table(rows, ["ID", "HOSTNAME", "ACTIVE", "CPUS", "MEM", "HTTP"])


def show_frameworks(client: MesopyClient, config: MesopyConfig) -> None:
    frameworks = client.frameworks()
    if config.json:
        return _out(json.dumps(frameworks, indent=2))
    rows = [[f["id"], f.get("name", ""), f.get("role", ""), "yes" if f.get("active") else "no",
             str(len(f.get("tasks", []))), _num(f.get("used_resources", {}).get("cpus")),
             _num(f.get("used_resources", {}).get("mem"))] for f in frameworks]
    _table(rows, ["ID", "NAME", "ROLE", "ACTIVE", "TASKS", "CPUS", "MEM"])


def show_tasks(client: MesopyClient, config: MesopyConfig) -> None:
    tasks = client.tasks(include_ended=config.all)
    if config.json:
        return _out(json.dumps(tasks, indent=2))
    hosts = {a["id"]: a.get("hostname", "") for a in client.agents()}
    rows = [[t["id"], t.get("name", ""), t.get("state", ""), t.get("framework_id", ""),
             hosts.get(t.get("slave_id", ""), t.get("slave_id", ""))] for t in tasks]
    _table(rows, ["ID", "NAME", "STATE", "FRAMEWORK", "AGENT"])


def cat(client: MesopyClient, config: MesopyConfig, name: str, file: str = "stdout") -> None:
    task = client.task(name)
    agent, path = client.agent_url(task["slave_id"]), client.sandbox_path(task, file)
    offset = 0
    while True:
        offset, data = client.read(agent, path, offset, CHUNK)  # the offset its data starts at
        if not data:
            return
        sys.stdout.write(data)
        sys.stdout.flush()
        offset += len(data.encode())


def tail(client: MesopyClient, config: MesopyConfig, name: str, file: str = "stdout",
         stop: threading.Event | None = None) -> None:
    task = client.task(name)
    agent, path = client.agent_url(task["slave_id"]), client.sandbox_path(task, file)
    size, _ = client.read(agent, path, -1)
    start = max(0, size - CHUNK)
    start, data = client.read(agent, path, start, size - start)  # start: past a split character
    lines = data.splitlines(keepends=True)
    if start > 0 and lines:
        lines = lines[1:]  # a partial first line
    for line in lines[-config.lines:] if config.lines else []:
        sys.stdout.write(line)
    sys.stdout.flush()
    if not config.follow:
        return
    offset, pending, ended = start + len(data.encode()), "", False
    pause = stop or threading.Event()
    while True:
        offset, data = client.read(agent, path, offset, CHUNK)
        offset += len(data.encode())
        pending += data
        *complete, pending = pending.split("\n")
        for line in complete:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        if data:
            continue
        if ended:  # the task ended and its file is drained
            if pending:
                _out(pending)
            return
        ended = client.task_state(task) in TERMINAL
        if not ended and pause.wait(config.poll):
            return


def why(client: MesopyClient, config: MesopyConfig, name: str) -> None:
    framework = pick_task(client.frameworks(), name, "framework")
    view = client.get(client.master, "/master/allocation", {"framework_id": framework["id"]})
    if config.json:
        return _out(json.dumps(view, indent=2))
    ours, theirs = view["framework"], view["allocator"]
    _out(f"framework {ours['id']} ({ours['name']}), roles {', '.join(ours['roles'])}")
    for reason in view["why"]:
        _out(f"  - {reason}")
    for entry in theirs["filters"]:
        _out(f"  filter: agent {entry['agent_id']} (role {entry['role']}) refused {entry['resources']} until "
             f"{time.strftime('%H:%M:%S', time.localtime(entry['until']))}")
    for role, siblings in theirs["siblings"].items():
        shown = ", ".join(f"{s['framework_id']}={s['share']:.3f}" for s in siblings)
        _out(f"  role {role}: share {theirs['role_shares'].get(role, 0.0):.3f}; frameworks {shown}")
    last = ours["last_offer"]
    _out(f"  last offer: {last['offer_id']} of agent {last['agent_id']} at "
         f"{time.strftime('%H:%M:%S', time.localtime(last['time']))}" if last else "  last offer: none yet")


def _amounts(flag: str, text: str) -> dict[str, dict[str, float]]:
    """``'cpus:2;mem:1024'`` -> ``{"cpus": {"value": 2.0}, ...}``; ClientError naming a bad entry."""
    out: dict[str, dict[str, float]] = {}
    for entry in filter(None, (e.strip() for e in text.split(";"))):
        name, _, value = entry.partition(":")
        try:
            out[name.strip()] = {"value": float(value)}
        except ValueError:
            raise ClientError(f"--{flag}: bad entry {entry!r}; expected name:amount") from None
    return out


def quota(client: MesopyClient, config: MesopyConfig, role: str = "") -> None:
    if role and (config.guarantee or config.limit or config.remove):
        if config.remove:
            status = client.get(client.master, f"/quota/{role}", method="DELETE")
        else:
            body = {"force": config.force, "quota_configs": [{
                "role": role, "guarantees": _amounts("guarantee", config.guarantee),
                "limits": _amounts("limit", config.limit)}]}
            status = client.get(client.master, "/quota", method="POST", body=body)
        if config.json:
            _out(json.dumps(status))
        return
    roles = [r for r in client.get(client.master, "/master/roles")["roles"] if "quota" in r
             and (not role or r["name"] == role)]
    if config.json:
        _out(json.dumps([r["quota"] for r in roles]))
        return

    def text(amounts: dict[str, float]) -> str:
        return ";".join(f"{n}:{_num(v)}" for n, v in sorted(amounts.items())) or "-"

    _table([[r["name"], text(r["quota"]["guarantee"]), text(r["quota"]["limit"]), text(r["quota"]["consumed"])]
            for r in roles], ["ROLE", "GUARANTEE", "LIMIT", "CONSUMED"])


def _run(words: list[str], config: MesopyConfig) -> None:
    client = MesopyClient(config.master, config.timeout, config.principal, config.secret, config.ssl_ca_file)
    command, args = words[0], words[1:]
    if command == "state":
        _out(json.dumps(client.state(), indent=2))
        return
    commands: dict[str, Callable[..., None]] = {"agents": show_agents, "frameworks": show_frameworks,
                                                "tasks": show_tasks, "cat": cat, "tail": tail, "why": why,
                                                "quota": quota}
    commands[command](client, config, *args)


def main(argv: Sequence[str] | None = None) -> None:
    flags, words = split_words(sys.argv[1:] if argv is None else list(argv))
    config = parse_or_exit(PROG, MesopyConfig, flags, description=DESCRIPTION, examples=EXAMPLES).config
    try:
        if not words:
            raise FlagError(f"a subcommand is required: one of {', '.join(SUBCOMMANDS)} (see --help)")
        low, high = SUBCOMMANDS.get(words[0], (-1, -1))
        if low < 0:
            raise FlagError(f"unknown subcommand {words[0]!r}: one of {', '.join(SUBCOMMANDS)}")
        if not low <= len(words) - 1 <= high:
            usage = {"quota": "[ROLE]", "why": "FRAMEWORK"}.get(words[0], "TASK [FILE]" if high else "no arguments")
            raise FlagError(f"{words[0]}: takes {usage}, got {' '.join(words[1:]) or 'none'}")
    except FlagError as e:
        flag_error_exit(PROG, e)
    try:
        _run(words, config)
    except ClientError as e:
        print(f"{PROG}: {e}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:
        raise SystemExit(0) from None


if __name__ == "__main__":
    main()
