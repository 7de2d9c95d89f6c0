"""What a forwarding proxy (transport/http.py ``forward``) passes on, as pure functions.

A non-leader instance of a framework service proxies an API call to its
leader unchanged, except for the hop-by-hop headers (RFC 9110 7.6.1) and
those the client library recomputes; a request already forwarded once is not
forwarded again (two instances that each think the other leads would bounce
it forever).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["FORWARDED_HEADER", "STREAM_TYPES", "is_stream", "join_url", "request_headers", "response_headers"]

FORWARDED_HEADER = "X-Mesopy-Forwarded-By"  # set on a forwarded request; names the forwarding base URL
STREAM_TYPES = ("text/event-stream", "application/recordio")

_HOP = frozenset(("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                  "transfer-encoding", "upgrade", "proxy-connection"))


def _pass(items: Iterable[tuple[str, str]], drop: frozenset[str]) -> list[tuple[str, str]]:
    items = list(items)
    named = {k.strip().lower() for key, value in items if key.lower() == "connection" for k in value.split(",")}
    return [(k, v) for k, v in items if k.lower() not in _HOP and k.lower() not in drop and k.lower() not in named]


def request_headers(headers: Iterable[tuple[str, str]], forwarded_by: str) -> list[tuple[str, str]]:
    """The headers to send upstream: the client's, less hop-by-hop, Host and Content-Length."""
    return [*_pass(headers, frozenset(("host", "content-length"))), (FORWARDED_HEADER, forwarded_by)]


def response_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The upstream reply's headers to send back (less hop-by-hop, Content-Length, Content-Type and
    the CORS ones the server sets itself)."""
    drop = frozenset(("content-length", "content-type", "access-control-allow-origin",
                      "access-control-allow-methods", "access-control-allow-headers", "date", "server"))
    return dict(_pass(headers, drop))


def is_stream(status: int, headers: Mapping[str, str]) -> bool:
    """Whether an upstream reply is an endless stream to relay as it comes (SSE, RecordIO)."""
    ctype = headers.get("Content-Type", headers.get("content-type", "")).split(";")[0].strip().lower()
    return status == 200 and ctype in STREAM_TYPES


def join_url(base_url: str, path: str, query_string: str) -> str:
    """``base_url`` (``http://h:p``, maybe with a trailing slash) + the request's path and query."""
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"forward target {base_url!r} must be an http:// or https:// URL")
    return base_url.rstrip("/") + path + (f"?{query_string}" if query_string else "")
