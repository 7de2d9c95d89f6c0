"""actors.flags: dataclass fields as Mesos-style flags, env fallback, one-line errors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from actors.flags import (
    FlagError,
    flag_error_exit,
    format_help,
    parse_duration,
    parse_flags,
)


@dataclass(frozen=True)
class Toy:
    master: str = field(metadata={"help": "host:port of the master", "group": "cluster"})
    port: int = field(default=5051, metadata={"help": "port to listen on"})
    work_dir: str = field(default="/tmp/mesopy", metadata={"help": "where sandboxes go"})
    cpus: float = 1.0
    ping_timeout: float = 15.0
    checkpoint: bool = True
    hostname: str | None = None
    roles: list[str] = field(default_factory=list)
    internal: object = field(default=None, metadata={"flag": False})

    def validate(self) -> None:
        if ":" not in self.master:
            raise ValueError(f"master address {self.master!r} has no port")
        if self.cpus <= 0:
            raise ValueError(f"cpus must be > 0, got {self.cpus}")


def parse(*argv: str, env: dict[str, str] | None = None) -> Toy:
    return parse_flags(Toy, list(argv), environ=env or {}).config


def test_equals_space_and_dash_forms_are_the_same_flag() -> None:
    a = parse("--master=h:1", "--work_dir=/a", "--port=7")
    b = parse("--master", "h:1", "--work-dir", "/a", "--port", "7")
    assert a == b
    assert a.port == 7 and a.work_dir == "/a"


def test_bools_take_flag_no_flag_and_explicit_values() -> None:
    assert parse("--master=h:1").checkpoint is True
    assert parse("--master=h:1", "--no-checkpoint").checkpoint is False
    assert parse("--master=h:1", "--no_checkpoint").checkpoint is False
    assert parse("--master=h:1", "--checkpoint=false").checkpoint is False
    assert parse("--master=h:1", "--no-checkpoint", "--checkpoint").checkpoint is True


def test_env_fills_in_and_command_line_wins() -> None:
    env = {"MESOPY_MASTER": "e:1", "MESOPY_PORT": "9"}
    assert parse(env=env).master == "e:1"
    assert parse(env=env).port == 9
    assert parse("--port=8", env=env).port == 8


def test_types_optional_lists_and_durations() -> None:
    c = parse("--master=h:1", "--hostname=x", "--roles=a, b", "--ping_timeout=100ms", "--cpus=2")
    assert c.hostname == "x" and c.roles == ["a", "b"] and c.ping_timeout == pytest.approx(0.1)
    assert c.cpus == 2.0
    assert parse_duration("1mins") == 60.0 and parse_duration("15secs") == 15.0
    assert parse("--master=h:1", "--hostname=").hostname is None


def test_non_flag_fields_are_not_flags() -> None:
    with pytest.raises(FlagError, match="--internal: unknown flag"):
        parse("--master=h:1", "--internal=x")


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--master=h:1", "--port=abc"], "--port: bad value 'abc'"),
        (["--master=h:1", "--bogus=1"], "--bogus: unknown flag"),
        (["--master=h:1", "--cpus=-1"], "--cpus: cpus must be > 0, got -1.0"),
        (["--master=nohost"], "--master: master address 'nohost' has no port"),
        ([], "--master: required"),
        (["--master=h:1", "stray"], "unexpected argument 'stray'"),
        (["--master=h:1", "--port"], "--port: needs a value"),
        (["--master=h:1", "--checkpoint=maybe"], "--checkpoint: bad value 'maybe'"),
        (["--master=h:1", "--log_format=xml"], "--log_format: must be 'console' or 'json', got 'xml'"),
    ],
)
def test_errors_name_the_flag_and_the_value(argv: list[str], expected: str) -> None:
    with pytest.raises(FlagError) as info:
        parse(*argv)
    assert str(info.value).startswith(expected), str(info.value)


def test_env_errors_name_the_variable() -> None:
    with pytest.raises(FlagError, match=r"--port \(from MESOPY_PORT\): bad value 'x'"):
        parse("--master=h:1", env={"MESOPY_PORT": "x"})


def test_validate_error_without_a_flag_name_is_matched_by_its_value() -> None:
    @dataclass(frozen=True)
    class Res:
        resources: str = "cpus:1"

        def validate(self) -> None:
            if "abc" in self.resources:
                raise ValueError(f"bad resource '{self.resources}': 'abc' is not a number")

    with pytest.raises(FlagError) as info:
        parse_flags(Res, ["--resources=cpus:abc"], environ={})
    assert str(info.value) == "--resources: bad resource 'cpus:abc': 'abc' is not a number"


def test_help_is_not_an_error_even_with_required_flags_missing() -> None:
    parsed = parse_flags(Toy, ["--help"], environ={})
    assert parsed.common.help and parsed.config is None
    text = format_help(Toy, "toy", "Runs a toy.", ["toy --master=h:5050"])
    assert text.index("examples:") < text.index("cluster:")
    assert "--master=VALUE" in text and "host:port of the master (default: required; env MESOPY_MASTER)" in text
    assert "--[no-]checkpoint" in text and "(default: true" in text
    assert "--log_format=VALUE" in text
    assert "internal" not in text


def test_common_flags_are_parsed() -> None:
    parsed = parse_flags(Toy, ["--master=h:1", "--log-format=json", "--log_level=debug"], environ={})
    assert parsed.common.log_format == "json" and parsed.common.log_level == "debug"
    assert dataclasses.is_dataclass(parsed.config)


def test_flag_error_exit_prints_one_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        flag_error_exit("mesopy-agent", FlagError("--port: bad value 'x'\nmore"))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == "mesopy-agent: --port: bad value 'x' more\n"


def test_version_is_not_an_error_even_with_required_flags_missing() -> None:
    parsed = parse_flags(Toy, ["--version"], environ={})
    assert parsed.common.version and parsed.config is None


def _every_script_config() -> list[type]:
    from actors.agent.config import AgentConfig
    from actors.local_main import LocalConfig
    from actors.master.config import MasterConfig
    from frameworks.execute import ExecuteConfig

    return [MasterConfig, AgentConfig, LocalConfig, ExecuteConfig]


@pytest.mark.parametrize("config_cls", _every_script_config())
def test_help_shows_each_flags_default_once(config_cls: type) -> None:
    text = format_help(config_cls, "prog")
    blocks = text.split("\n  --")[1:]
    assert blocks
    for block in blocks:
        assert block.count("default:") == 1 and block.count("(default") == 1, block


def test_a_help_text_that_states_its_own_default_is_refused() -> None:
    @dataclass
    class Twice:
        hostname: str = field(default="", metadata={"help": "the name (default: --ip)"})

    with pytest.raises(TypeError, match="Twice.hostname.*default_text"):
        format_help(Twice, "prog")


def test_default_text_stands_for_a_default_that_is_not_a_literal() -> None:
    @dataclass
    class Named:
        hostname: str = field(default="", metadata={"help": "the name", "default_text": "--ip"})

    assert "the name (default: --ip; env MESOPY_HOSTNAME)" in format_help(Named, "prog")
