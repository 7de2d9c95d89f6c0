"""The pure rules of leader election: ZooKeeper URLs, MasterInfo JSON, who leads."""

from __future__ import annotations

import json

import pytest

from actors.ha.election import choose_leader, master_info, parse_json_info, parse_zk_url, sequence_of


def test_zk_url_splits_hosts_and_path() -> None:
    url = parse_zk_url("zk://h1:2181,h2:2182/mesos/")
    assert (url.hosts, url.path) == ("h1:2181,h2:2182", "/mesos")


@pytest.mark.parametrize("text, part", [
    ("h1:2181/mesos", "zk://"), ("zk://h1:2181", "path"), ("zk://h1:2181/", "path"),
    ("zk://h1/mesos", "'h1'"), ("zk://h1:99999/mesos", "'h1:99999'"), ("zk:///mesos", "no server"),
    ("zk://u:p@h1:2181/mesos", "credentials"),
])
def test_bad_zk_url_is_named(text: str, part: str) -> None:
    with pytest.raises(ValueError, match=part) as e:
        parse_zk_url(text)
    assert repr(text) in str(e.value)


def test_master_info_is_mesos_json() -> None:
    info = json.loads(master_info("id-1", "master@10.0.0.2:5050", "", "1.11.0", http_port=5080))
    assert info["id"] == "id-1" and info["pid"] == "master@10.0.0.2:5050" and info["port"] == 5050
    assert info["address"] == {"ip": "10.0.0.2", "hostname": "10.0.0.2", "port": 5080}
    assert info["ip"] == 10 | 2 << 24  # in_addr, network order read as a little-endian uint32
    assert info["version"] == "1.11.0"


def _info(pid: str) -> bytes:
    return master_info("x", pid, "", "1.0")


def test_lowest_sequence_leads_whatever_the_listing_order() -> None:
    leader, skipped = choose_leader({
        "json.info_0000000012": _info("master@127.0.0.1:2"),
        "json.info_0000000003": _info("master@127.0.0.1:1"),
    })
    assert leader is not None and leader.pid == "master@127.0.0.1:1" and leader.znode == "json.info_0000000003"
    assert skipped == []


def test_garbage_is_skipped_with_its_reason() -> None:
    leader, skipped = choose_leader({
        "json.info_0000000001": b"{not json",
        "json.info_0000000002": b"[1, 2]",
        "json.info_0000000003": b'{"id": "no pid"}',
        "json.info_0000000004": None,  # vanished between the listing and the read
        "somebody_else": b"x",
        "json.info_0000000009": _info("master@127.0.0.1:9"),
    })
    assert leader is not None and leader.pid == "master@127.0.0.1:9"
    reasons = dict(skipped)
    assert reasons["json.info_0000000001"].startswith("invalid JSON")
    assert reasons["json.info_0000000002"] == "not a JSON object"
    assert reasons["json.info_0000000003"] == "no pid"
    assert reasons["somebody_else"] == "not an election znode"
    assert "json.info_0000000004" not in reasons


def test_no_valid_child_means_no_leader() -> None:
    assert choose_leader({}) == (None, [])
    leader, skipped = choose_leader({"json.info_0000000001": b"\xff\xfe"})
    assert leader is None and skipped[0][0] == "json.info_0000000001"


def test_pid_without_name_is_a_master_pid() -> None:
    leader, _ = choose_leader({"json.info_0000000001": b'{"pid": "127.0.0.1:5050"}'})
    assert leader is not None and leader.pid == "master@127.0.0.1:5050"


def test_a_frameworks_election_takes_any_json_object() -> None:
    children = {"json.info_0000000001": b"[1]", "json.info_0000000002": b'{"host": "h", "http_port": 8080}',
                "json.info_0000000003": b'{"host": "g"}'}
    leader, skipped = choose_leader(children, parse_json_info)
    assert leader is not None and (leader.znode, leader.pid) == ("json.info_0000000002", "")
    assert leader.info == {"host": "h", "http_port": 8080}
    assert skipped == [("json.info_0000000001", "not a JSON object")]
    assert choose_leader(children)[0] is None  # as MasterInfo none of them is valid: no pid


def test_sequence_of() -> None:
    assert sequence_of("json.info_0000000042") == 42
    assert sequence_of("json.info_x") is None and sequence_of("info_1") is None
