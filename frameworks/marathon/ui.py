"""The web UI at ``/``: the static files of frameworks/marathon/webui/ (or, until they are
built, one page saying so), served by transport/http.py."""

from __future__ import annotations

import os

from transport.http import HttpReply, HttpRequest, HttpServer

__all__ = ["WEBUI_DIR", "install_ui"]

WEBUI_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "webui")
_TYPES = {".html": "text/html; charset=utf-8", ".js": "application/javascript", ".css": "text/css",
          ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json"}
_PLACEHOLDER = b"""<!doctype html><html><head><meta charset="utf-8"><title>Marathon</title></head>
<body><h1>Marathon</h1><p>The web UI is not built yet. The REST API is at
<a href="/v2/apps">/v2/apps</a> and <a href="/v2/info">/v2/info</a>.</p></body></html>"""


def install_ui(server: HttpServer, root: str = WEBUI_DIR) -> None:
    """Serve ``root`` at ``/`` (index.html for ``/``); paths outside it are 404s. Route last:
    it answers every path no other route has."""

    async def serve(request: HttpRequest) -> HttpReply:
        rel = request.path.lstrip("/") or "index.html"
        path = os.path.realpath(os.path.join(root, rel))
        inside = path.startswith(os.path.realpath(root) + os.sep)
        if inside and os.path.isfile(path):
            with open(path, "rb") as f:
                body = f.read()
            return HttpReply(body=body, content_type=_TYPES.get(os.path.splitext(path)[1], "application/octet-stream"))
        if rel == "index.html":
            return HttpReply(body=_PLACEHOLDER, content_type="text/html; charset=utf-8")
        return HttpReply(status=404, body=f"no endpoint {request.path}\n".encode(), content_type="text/plain")

    server.route("/", serve, prefix=True)
