"""--http_port and --no-http of mesopy-master and mesopy-agent, and the URL each
script prints when it is ready."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.http_support import fetch, get_json
from tests.integration.operators_support import ROOT, Script, free_port_pair, run_script

pytestmark = pytest.mark.integration


def test_the_default_http_port_is_the_actor_port_minus_10_and_printed(tmp_path: Any) -> None:
    port = free_port_pair()
    master = subprocess.Popen([sys.executable, os.path.join(ROOT, "bin", "mesopy-master"), f"--port={port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        assert master.stdout is not None
        line = master.stdout.readline()
        assert line == f"mesopy-master: HTTP endpoints at http://127.0.0.1:{port - 10}/\n"
        assert get_json(f"http://127.0.0.1:{port - 10}/master/state")["pid"] == f"master@127.0.0.1:{port}"
    finally:
        master.terminate()
        master.wait(10)


def test_no_http_serves_nothing_and_says_no_url(scripts: list[Script], tmp_path: Any) -> None:
    port = free_port_pair()
    master = Script("mesopy-master", f"--port={port}", "--no-http")
    scripts.append(master)
    master.wait_for("master_started")
    agent = Script("mesopy-agent", f"--master=127.0.0.1:{port}", "--port=0", "--no-http", f"--work_dir={tmp_path}")
    scripts.append(agent)
    agent.wait_for("agent_registered")
    with pytest.raises(OSError):
        fetch(f"http://127.0.0.1:{port - 10}/health", timeout=2)
    assert not [line for line in master.lines + agent.lines if "http_ready" in line]


def test_a_bad_http_port_is_exit_2_and_one_in_use_exit_1_naming_it(tmp_path: Any) -> None:
    bad = run_script("mesopy-master", "--port=0", "--http_port=70000")
    assert bad.returncode == 2 and "--http_port" in bad.stderr and "70000" in bad.stderr
    low = run_script("mesopy-master", "--port=5")
    assert low.returncode == 2 and "--http_port" in low.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        in_use = taken.getsockname()[1]
        result = run_script("mesopy-agent", "--master=127.0.0.1:5050", "--port=0", f"--http_port={in_use}",
                            f"--work_dir={tmp_path}")
    assert result.returncode == 1 and "--http_port" in result.stderr and str(in_use) in result.stderr
