"""What ``forward`` passes on (transport/proxy_rules.py): headers, streams, URLs."""

from __future__ import annotations

import pytest

from transport.proxy_rules import FORWARDED_HEADER, is_stream, join_url, request_headers, response_headers


def test_request_headers_drop_hop_by_hop_and_those_named_by_connection() -> None:
    sent = request_headers([("Host", "a:1"), ("Connection", "keep-alive, X-Hop"), ("X-Hop", "1"),
                            ("Content-Length", "3"), ("Authorization", "Basic eA=="), ("Accept", "a"),
                            ("Accept", "b"), ("Transfer-Encoding", "chunked")], "http://me:8080")
    assert sent == [("Authorization", "Basic eA=="), ("Accept", "a"), ("Accept", "b"),
                    (FORWARDED_HEADER, "http://me:8080")]


def test_response_headers_keep_the_servers_own() -> None:
    assert response_headers([("Content-Type", "application/json"), ("Content-Length", "2"), ("Location", "/v2/x"),
                             ("X-Marathon-Leader", "http://l"), ("Keep-Alive", "timeout=5"),
                             ("Access-Control-Allow-Origin", "*")]) == {"Location": "/v2/x",
                                                                        "X-Marathon-Leader": "http://l"}


def test_streams_are_200_event_streams_or_recordio() -> None:
    assert is_stream(200, {"Content-Type": "text/event-stream; charset=utf-8"})
    assert is_stream(200, {"content-type": "application/recordio"})
    assert not is_stream(200, {"Content-Type": "application/json"})
    assert not is_stream(503, {"Content-Type": "text/event-stream"})


def test_join_url() -> None:
    assert join_url("http://h:8080/", "/v2/apps", "embed=a&embed=b") == "http://h:8080/v2/apps?embed=a&embed=b"
    assert join_url("http://h:8080", "/ping", "") == "http://h:8080/ping"
    with pytest.raises(ValueError, match="'h:8080'"):
        join_url("h:8080", "/ping", "")
