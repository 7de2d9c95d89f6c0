"""Command-line flags built from a config dataclass, the way Mesos reads its flags.

Each dataclass field is a flag of the same name: ``--work_dir=/x``,
``--work_dir /x`` and ``--work-dir=/x`` are the same; booleans are ``--flag``,
``--no-flag`` or ``--flag=true|false``; every flag can also come from the
environment as ``MESOPY_<NAME>`` (the command line wins). A field's metadata
may carry ``help`` (text for --help), ``group`` (a heading in --help),
``default_text`` (how --help shows a default that is not a literal value,
e.g. ``"--ip"``) and ``flag=False`` (not a flag). --help writes each flag's
default itself, once: a ``help`` text that states its own default is refused.
Floats accept Mesos durations (``15secs``, ``100ms``, ``1mins``). Every
script also gets ``--log_format``, ``--log_level``, ``--help`` and ``--version``.

A bad flag is a ``FlagError`` whose text names the flag and the bad value;
``flag_error_exit`` prints it as one line and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

__all__ = [
    "CommonFlags",
    "FlagError",
    "FlagSpec",
    "ParsedFlags",
    "flag_error_exit",
    "flag_specs",
    "format_help",
    "parse_duration",
    "parse_flags",
]

C = TypeVar("C")

ENV_PREFIX = "MESOPY_"
_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")
_DURATION = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]*)\s*$")
_OWN_DEFAULT = re.compile(r"\(default\b", re.IGNORECASE)
_COMMON = ("log_format", "log_level", "help", "version")
_UNITS = {
    "": 1.0,
    "ns": 1e-9,
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}


class FlagError(ValueError):
    """A flag could not be used; ``str()`` is the one line to show (without the program name)."""

    def __init__(self, message: str, flag: str | None = None) -> None:
        super().__init__(message)
        self.flag = flag


@dataclass(frozen=True)
class CommonFlags:
    """Flags every mesopy script takes."""

    log_format: str = dataclasses.field(
        default="console", metadata={"help": "console (for a person) or json (one object per line)"}
    )
    log_level: str = dataclasses.field(default="info", metadata={"help": "debug, info, warning or error"})
    help: bool = dataclasses.field(default=False, metadata={"help": "print this help and exit"})
    version: bool = dataclasses.field(
        default=False, metadata={"help": "print the mesopy version and the Mesos API level, and exit"}
    )

    def validate(self) -> None:
        if self.log_format not in ("console", "json"):
            raise FlagError(f"--log_format: must be 'console' or 'json', got {self.log_format!r}", "log_format")
        if self.log_level.lower() not in ("debug", "info", "warning", "error", "critical"):
            raise FlagError(
                f"--log_level: must be debug, info, warning or error, got {self.log_level!r}", "log_level"
            )


@dataclass(frozen=True)
class FlagSpec:
    """One flag: its name, the type its value is converted to, default, help and group."""

    name: str
    kind: Any
    default: Any
    required: bool
    help: str
    group: str
    optional: bool
    default_text: str = ""

    @property
    def is_bool(self) -> bool:
        return self.kind is bool

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def convert(self, raw: str, source: str) -> Any:
        """Turn the text ``raw`` into this flag's type; FlagError naming ``source`` if it cannot."""
        if self.optional and raw == "":
            return None
        kind = self.kind
        try:
            if kind is bool:
                low = raw.strip().lower()
                if low in _TRUE:
                    return True
                if low in _FALSE:
                    return False
                raise ValueError("expected true or false")
            if kind is int:
                if not re.fullmatch(r"\s*[-+]?[0-9]+\s*", raw):
                    raise ValueError(f"{raw!r} is not an integer")
                return int(raw.strip())
            if kind is float:
                return parse_duration(raw)
            if kind in (list, tuple) or typing.get_origin(kind) in (list, tuple):
                items = [p.strip() for p in raw.split(",") if p.strip()]
                return tuple(items) if (kind is tuple or typing.get_origin(kind) is tuple) else items
        except ValueError as e:
            raise FlagError(f"{source}: bad value {raw!r}: {e}", self.name) from None
        return raw


@dataclass(frozen=True)
class ParsedFlags(typing.Generic[C]):
    config: C
    common: CommonFlags


def parse_duration(text: str) -> float:
    """Seconds from ``"2.5"``, ``"100ms"``, ``"15secs"``, ``"1mins"``, ``"2hrs"``... (Mesos' forms)."""
    match = _DURATION.match(text.lower())
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"{text!r} is not a number or a duration like 15secs, 100ms, 1mins")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _unwrap(hint: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
        return str, True
    return hint, False


def flag_specs(config_cls: type) -> list[FlagSpec]:
    """The flags of a config dataclass, in field order."""
    hints = typing.get_type_hints(config_cls)
    specs = []
    for f in dataclasses.fields(config_cls):
        if not f.init or not f.metadata.get("flag", True):
            continue
        kind, optional = _unwrap(hints.get(f.name, str))
        help_text = str(f.metadata.get("help", ""))
        if _OWN_DEFAULT.search(help_text):
            raise TypeError(
                f"{config_cls.__name__}.{f.name}: help text {help_text!r} states a default; "
                "--help shows it: put non-literal defaults in metadata['default_text']"
            )
        if f.default is not dataclasses.MISSING:
            default, required = f.default, False
        elif f.default_factory is not dataclasses.MISSING:
            default, required = f.default_factory(), False
        else:
            default, required = None, True
        specs.append(
            FlagSpec(
                name=f.name,
                kind=kind,
                default=default,
                required=required,
                help=help_text,
                group=str(f.metadata.get("group", "")),
                optional=optional,
                default_text=str(f.metadata.get("default_text", "")),
            )
        )
    return specs


def _scan(argv: Sequence[str], specs: dict[str, FlagSpec]) -> dict[str, tuple[str, str]]:
    """argv -> {name: (raw value, source)}; FlagError on unknown flags or stray words."""
    found: dict[str, tuple[str, str]] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg in ("-h", "-help"):
            arg = "--help"
        if not arg.startswith("--") or arg == "--":
            raise FlagError(f"unexpected argument {arg!r} (flags look like --name=value)")
        body = arg[2:]
        name, eq, value = body.partition("=")
        key = name.replace("-", "_")
        negated = False
        if key not in specs and key.startswith("no_") and key[3:] in specs and specs[key[3:]].is_bool:
            key, negated = key[3:], True
        spec = specs.get(key)
        if spec is None:
            raise FlagError(f"--{name}: unknown flag (see --help)", key)
        if negated:
            if eq:
                raise FlagError(f"--{name}: takes no value, got {value!r}", key)
            found[key] = ("false", f"--{name}")
        elif eq:
            found[key] = (value, f"--{name}")
        elif spec.is_bool:
            found[key] = ("true", f"--{name}")
        else:
            if i >= len(argv):
                raise FlagError(f"--{name}: needs a value (--{name}=VALUE)", key)
            found[key] = (argv[i], f"--{name}")
            i += 1
    return found


def _guess_flag(message: str, specs: Sequence[FlagSpec], given: Mapping[str, str]) -> str | None:
    """Which flag a validate() error is about: named in the message, or its value quoted there."""
    leading = re.match(r"^--([A-Za-z0-9_\-]+)", message)
    names = {s.name for s in specs}
    if leading and leading.group(1).replace("-", "_") in names:
        return leading.group(1).replace("-", "_")
    for spec in sorted(specs, key=lambda s: -len(s.name)):
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(spec.name)}(?![A-Za-z0-9_])", message):
            return spec.name
    for name, raw in given.items():
        if raw and (repr(raw) in message or f"'{raw}'" in message or f'"{raw}"' in message):
            return name
    return None


def parse_flags(
    config_cls: type[C],
    argv: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ParsedFlags[C]:
    """Build ``config_cls`` (and the common flags) from ``argv`` and ``MESOPY_*`` variables.

    Calls the config's ``validate()`` if it has one; any ValueError from it or
    from the dataclass becomes a FlagError naming the flag. ``--help`` is not
    an error: ``result.common.help`` is True (and required flags are not checked);
    nor is ``--version`` (``result.common.version``).
    """
    env = os.environ if environ is None else environ
    config_specs = flag_specs(config_cls)
    common_specs = flag_specs(CommonFlags)
    clash = {s.name for s in config_specs} & {s.name for s in common_specs}
    specs = {s.name: s for s in common_specs} | {s.name: s for s in config_specs if s.name not in clash}
    raw: dict[str, tuple[str, str]] = {}
    for spec in specs.values():
        if spec.env in env:
            raw[spec.name] = (env[spec.env], f"--{spec.name} (from {spec.env})")
    raw.update(_scan(argv, specs))
    values = {name: specs[name].convert(text, source) for name, (text, source) in raw.items()}
    common = CommonFlags(**{k: v for k, v in values.items() if k in _COMMON})
    common.validate()
    kwargs = {k: v for k, v in values.items() if k in {s.name for s in config_specs}}
    kwargs.update(overrides or {})
    missing = [s.name for s in config_specs if s.required and s.name not in kwargs]
    if missing and (common.help or common.version):
        return ParsedFlags(config=None, common=common)  # type: ignore[arg-type]
    if missing:
        raise FlagError(f"--{missing[0]}: required (set --{missing[0]}=VALUE or {ENV_PREFIX}{missing[0].upper()})", missing[0])
    given = {k: text for k, (text, _) in raw.items()}
    try:
        config = config_cls(**kwargs)
        validate: Callable[[], Any] | None = getattr(config, "validate", None)
        if validate is not None:
            validate()
    except FlagError:
        raise
    except (ValueError, TypeError) as e:
        message = str(e)
        flag = getattr(e, "flag", None) or _guess_flag(message, config_specs, given)
        if flag is None:
            raise FlagError(message) from None
        for prefix in (f"--{flag}", f"{flag}:"):
            if message.startswith(prefix):
                message = message[len(prefix) :].lstrip(": ")
        raise FlagError(f"--{flag}: {message}", flag) from None
    return ParsedFlags(config=config, common=common)


def _show_default(spec: FlagSpec) -> str:
    if spec.required:
        return "required"
    if spec.default_text:
        return spec.default_text
    if spec.default is None or spec.default == "":
        return "none"
    if spec.is_bool:
        return "true" if spec.default else "false"
    if isinstance(spec.default, (list, tuple)):
        return ",".join(str(x) for x in spec.default) or "none"
    return str(spec.default)


def _usage_line(spec: FlagSpec) -> str:
    if spec.is_bool:
        return f"--[no-]{spec.name}"
    return f"--{spec.name}=VALUE"


def format_help(config_cls: type, prog: str, description: str = "", examples: Sequence[str] = ()) -> str:
    """The --help text: what the program does, examples, then every flag by group with its default."""
    lines = [f"usage: {prog} [--flag=value ...]", ""]
    if description:
        lines += [description.strip(), ""]
    if examples:
        lines.append("examples:")
        lines += [f"  {example}" for example in examples]
        lines.append("")
    groups: dict[str, list[FlagSpec]] = {}
    for spec in flag_specs(config_cls):
        groups.setdefault(spec.group or "flags", []).append(spec)
    groups["common flags"] = flag_specs(CommonFlags)
    for group, specs in groups.items():
        lines.append(f"{group}:")
        for spec in specs:
            lines.append(f"  {_usage_line(spec)}")
            detail = f"(default: {_show_default(spec)}; env {spec.env})"
            lines.append(f"      {spec.help} {detail}" if spec.help else f"      {detail}")
        lines.append("")
    lines.append("Flags accept --name=value, --name value, dashes for underscores (--work-dir);")
    lines.append(f"each flag may also be set as an environment variable {ENV_PREFIX}<NAME>; the command line wins.")
    return "\n".join(lines) + "\n"


def flag_error_exit(prog: str, error: Exception, status: int = 2) -> NoReturn:
    """Print ``prog: <error>`` as one line on stderr and exit with ``status`` (2 for bad flags)."""
    text = str(error).replace("\n", " ")
    print(f"{prog}: {text}", file=sys.stderr, flush=True)
    raise SystemExit(status)
