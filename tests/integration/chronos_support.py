"""What the mesopy-chronos tests share: a master and an agent as OS processes, and a JSON HTTP call."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.integration.operators_support import Script, free_port

__all__ = ["call", "start_master_and_agent"]


def start_master_and_agent(scripts: list[Script], work_dir: Path, resources: str = "cpus:4;mem:2048;disk:1024") -> str:
    """A master (quick allocations) and one agent registered with it, appended to ``scripts``; the
    master's ``host:port``."""
    port = free_port()
    master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1")
    scripts.append(master)
    master.wait_for("master_started")
    agent = Script("mesopy-agent", f"--master=127.0.0.1:{port}", "--port=0", f"--work_dir={work_dir}",
                   f"--resources={resources}", "--registration_backoff_factor=0.05")
    scripts.append(agent)
    agent.wait_for("agent_registered")
    return f"127.0.0.1:{port}"


def call(base_url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """``method path`` with ``body`` as JSON: the status and the JSON (or text) answer, errors included."""
    request = urllib.request.Request(base_url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            raw = reply.read()
            kind = reply.headers.get("Content-Type", "")
            return reply.status, json.loads(raw) if raw and "json" in kind else raw.decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
