"""The master's web UI: static HTML, JavaScript and CSS shipped in this package
(no build step, no CDN), served at ``/`` and ``/webui/<file>``. The page reads
the master's JSON endpoints; sandbox files through the master (actors/master/http_agent_files.py)."""

from __future__ import annotations

import os

from transport.http import HttpReply, HttpRequest, HttpServer

__all__ = ["ASSETS", "install_webui"]

HERE = os.path.dirname(os.path.abspath(__file__))
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml; charset=utf-8"}
ASSETS = tuple(sorted(name for name in os.listdir(HERE) if os.path.splitext(name)[1] in CONTENT_TYPES))


def _reply(name: str) -> HttpReply:
    with open(os.path.join(HERE, name), "rb") as f:
        body = f.read()
    return HttpReply(body=body, content_type=CONTENT_TYPES[os.path.splitext(name)[1]],
                     headers={"Cache-Control": "no-cache"})


def install_webui(server: HttpServer) -> None:
    """Route ``/`` (index.html) and ``/webui/<asset>``; the files are read once, here."""
    for name in ASSETS:
        reply = _reply(name)

        async def handler(request: HttpRequest, reply: HttpReply = reply) -> HttpReply:
            return reply

        server.route(f"/webui/{name}", handler)
        if name == "index.html":
            server.route("/", handler)
