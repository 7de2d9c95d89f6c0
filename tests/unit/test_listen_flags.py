"""--ip, --port, --advertise_ip, --advertise_port, --hostname: what is bound and what is advertised."""

from __future__ import annotations

from typing import Any

import pytest

from actors.agent.config import AgentConfig
from actors.flags import FlagError, parse_flags
from actors.master.config import MasterConfig
from actors.node import Node
from transport.addresses import advertised_ip, routable_ip


def test_a_wildcard_bind_is_advertised_as_the_routable_address() -> None:
    ip = routable_ip()
    assert ip not in ("0.0.0.0", "")
    assert advertised_ip("0.0.0.0") == ip
    assert advertised_ip("0.0.0.0", "10.1.2.3") == "10.1.2.3"
    assert advertised_ip("127.0.0.1") == "127.0.0.1"


def test_a_node_bound_to_every_interface_names_its_pids_by_the_advertised_address() -> None:
    with Node("0.0.0.0", 0, advertise_host="127.0.0.1") as node:
        assert node.endpoint.host == "0.0.0.0" and node.port == node.endpoint.port
        assert str(node.pid("master")) == f"master@127.0.0.1:{node.port}"
        assert node.is_local(node.pid("x"))
    with Node("0.0.0.0", 0) as node:
        assert node.host == routable_ip() and node.address == f"{routable_ip()}:{node.endpoint.port}"
    with Node("127.0.0.1", 0, advertise_port=6000) as node:
        assert node.address == "127.0.0.1:6000" and node.endpoint.port != 6000


@pytest.mark.parametrize("config_cls", [MasterConfig, AgentConfig])
def test_listen_flags_are_checked_on_master_and_agent(config_cls: type) -> None:
    parsed: Any = parse_flags(config_cls, ["--ip=0.0.0.0", "--advertise_ip=10.0.0.5", "--advertise_port=7000",
                                      "--hostname=box.example"], environ={}).config
    assert (parsed.ip, parsed.advertise_ip, parsed.advertise_port, parsed.hostname) == (
        "0.0.0.0", "10.0.0.5", 7000, "box.example")
    assert parsed.node_options() == {"advertise_host": "10.0.0.5", "advertise_port": 7000,
                                     "heartbeat_interval": 0.5, "heartbeat_timeout": 75.0, "curve": None}
    assert parse_flags(config_cls, ["--heartbeat_timeout=8"], environ={}).config.node_options()[
        "heartbeat_timeout"] == 8.0
    for argv, words in [
        (["--heartbeat_timeout=0.2"], ["--heartbeat_timeout", "0.2"]),
        (["--ip=localhost"], ["--ip", "'localhost'", "IPv4"]),
        (["--advertise_ip=0.0.0.0"], ["--advertise_ip", "'0.0.0.0'"]),
        (["--advertise_ip=host.example"], ["--advertise_ip", "'host.example'"]),
        (["--advertise_port=0"], ["--advertise_port", "0"]),
    ]:
        with pytest.raises(FlagError) as e:
            parse_flags(config_cls, argv, environ={})
        assert all(w in str(e.value) for w in words), str(e.value)


def test_hostname_is_only_the_name_shown_in_master_info() -> None:
    from tests.unit.master_helpers import Harness

    info = Harness(ip="0.0.0.0", hostname="master.example").core.master_info()
    assert info["hostname"] == "master.example" and info["address"]["hostname"] == "master.example"
    assert info["pid"].startswith("master@127.0.0.1:") and info["address"]["ip"] == "127.0.0.1"
    assert Harness(ip="0.0.0.0").core.master_info()["hostname"] == "127.0.0.1"  # the pid's IP, never --ip


@pytest.mark.parametrize("config_cls", [MasterConfig, AgentConfig])
def test_curve_and_tls_flags_are_checked_naming_the_bad_value(config_cls: type, tmp_path: Any) -> None:
    import zmq.auth

    public, secret = zmq.auth.create_certificates(str(tmp_path), "node")
    other, _ = zmq.auth.create_certificates(str(tmp_path), "other")
    extra = [f"--master_public_key={public}"] if config_cls is AgentConfig else []
    parsed: Any = parse_flags(config_cls, [f"--curve_secret_key={secret}", f"--curve_public_key={public}", *extra],
                              environ={}).config
    keys = parsed.curve_keys()
    assert parsed.encrypted and keys is not None and keys.public == zmq.auth.load_certificate(public)[0]
    assert str(keys.secret) not in repr(keys)
    bad = tmp_path / "garbage.key"
    bad.write_text("not a key at all")
    for argv, words in [
        ([f"--curve_secret_key={public}", *extra], ["--curve_secret_key", "no secret-key"]),
        ([f"--curve_secret_key={secret}", f"--curve_public_key={other}", *extra], ["--curve_public_key", "other.key"]),
        ([f"--curve_secret_key={bad}", *extra], ["garbage.key", "'not a key at all'"]),
        ([f"--curve_public_key={public}"], ["--curve_public_key", "needs --curve_secret_key"]),
        ([f"--ssl_cert_file={tmp_path / 'x.crt'}"], ["--ssl_cert_file", "needs --ssl_key_file"]),
        ([f"--ssl_cert_file={bad}", f"--ssl_key_file={bad}"], ["garbage.key"]),
    ]:
        with pytest.raises(FlagError) as e:
            parse_flags(config_cls, argv, environ={})
        assert all(w in str(e.value) for w in words), str(e.value)


def test_an_encrypted_agent_needs_the_masters_key_unless_zookeeper_names_it(tmp_path: Any) -> None:
    base = [f"--work_dir={tmp_path}", "--encrypt"]
    with pytest.raises(FlagError, match="--master_public_key"):
        parse_flags(AgentConfig, [*base, "--master=127.0.0.1:5050"], environ={})
    with pytest.raises(FlagError, match="'nonsense' is neither a 40-character Z85 CURVE key nor a key file"):
        parse_flags(AgentConfig, [*base, "--master=127.0.0.1:5050", "--master_public_key=nonsense"], environ={})
    with pytest.raises(FlagError, match="needs --encrypt"):
        parse_flags(AgentConfig, ["--master=127.0.0.1:5050", "--master_public_key=" + "a" * 40], environ={})
    parsed: Any = parse_flags(AgentConfig, [*base, "--master=zk://127.0.0.1:2181/mesos"], environ={}).config
    first = parsed.curve_keys()
    assert first is not None and parsed.curve_keys() == first  # made once, kept in work_dir/meta
    assert (tmp_path / "meta" / "curve.key_secret").stat().st_mode & 0o777 == 0o600
