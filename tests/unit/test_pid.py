"""Process ids: parsing, printing and the errors that name the bad text."""

from __future__ import annotations

import pytest

from transport.errors import PIDError
from transport.pid import PID, parse_address


@pytest.mark.parametrize(
    "text, name, host, port",
    [
        ("master@10.0.0.1:5050", "master", "10.0.0.1", 5050),
        ("agent(1)@10.0.0.2:5051", "agent(1)", "10.0.0.2", 5051),
        ("scheduler(ab12cd34)@localhost:1", "scheduler(ab12cd34)", "localhost", 1),
        ("a.b-c_d@host.example.com:65535", "a.b-c_d", "host.example.com", 65535),
        ("x@[::1]:5050", "x", "::1", 5050),
        ("x@::1:5050", "x", "::1", 5050),
    ],
)
def test_parse(text: str, name: str, host: str, port: int) -> None:
    pid = PID.parse(text)
    assert (pid.name, pid.host, pid.port) == (name, host, port)
    assert pid.address == f"{host}:{port}"


def test_str_round_trip_and_equality() -> None:
    pid = PID("agent(2)", "127.0.0.1", 5051)
    assert str(pid) == "agent(2)@127.0.0.1:5051"
    assert PID.parse(str(pid)) == pid
    assert hash(PID.parse(str(pid))) == hash(pid)
    assert len({pid, PID("agent(2)", "127.0.0.1", 5051), PID("agent(3)", "127.0.0.1", 5051)}) == 2


def test_frozen() -> None:
    pid = PID("a", "h", 1)
    with pytest.raises(AttributeError):
        pid.name = "b"  # type: ignore[misc]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("master", "must be name@host:port"),
        ("@10.0.0.1:5050", "must be name@host:port"),
        ("master@", "must be host:port"),
        ("master@10.0.0.1", "must be host:port"),
        ("master@:5050", "must be host:port"),
        ("master@10.0.0.1:http", "is not a number"),
        ("master@10.0.0.1:-1", "is not a number"),
        ("master@10.0.0.1:0", "not in 1-65535"),
        ("master@10.0.0.1:65536", "not in 1-65535"),
        ("master@10.0.0.1:\u00b2", "is not a number"),  # superscript two: isdigit() but not int()
        ("master@10.0.0.1:\u0661\u0662", "is not a number"),  # Arabic-Indic digits
        ("mas ter@10.0.0.1:5050", "letters, digits"),
        ("master\n@10.0.0.1:5050", "letters, digits"),  # a trailing newline is not a name
        ("ma/ster@10.0.0.1:5050", "letters, digits"),
        ("master@10.0 .0.1:5050", "white space"),
    ],
)
def test_parse_errors_name_the_text(text: str, fragment: str) -> None:
    with pytest.raises(PIDError) as info:
        PID.parse(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("value", [None, 5050, b"master@h:1", ["master@h:1"]])
def test_parse_rejects_non_text(value: object) -> None:
    with pytest.raises(PIDError, match="must be a string"):
        PID.parse(value)  # type: ignore[arg-type]


def test_constructor_validates() -> None:
    with pytest.raises(PIDError, match="'bad name'"):
        PID("bad name", "h", 1)
    with pytest.raises(PIDError, match="port 0"):
        PID("ok", "h", 0)


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:5050") == ("127.0.0.1", 5050)
    assert parse_address("[fe80::1]:80") == ("fe80::1", 80)
    with pytest.raises(PIDError, match="'nohost'"):
        parse_address("nohost")
    with pytest.raises(PIDError, match="port 99999"):
        parse_address("h:99999")
