"""TLS on the HTTP ports of real mesopy-master and mesopy-agent processes: --ssl_cert_file and
--ssl_key_file serve HTTPS only; our clients (the mesopy CLI, the v1 test client, urllib) take
https:// URLs checked against a CA file; plain HTTP to the port gets no answer."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.operators_support import Script, free_port, run_script
from tests.integration.tls_support import self_signed
from tests.integration.v1_client import post

pytestmark = pytest.mark.integration


def test_https_endpoints_answer_over_tls_only(scripts: list[Script], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("LIBPROCESS_SSL_CA_FILE", str(cert))  # what our clients trust (as Mesos'), the master too
    tls = (f"--ssl_cert_file={cert}", f"--ssl_key_file={key}")
    port, http_port = free_port(), free_port()
    master = Script("mesopy-master", f"--port={port}", f"--http_port={http_port}", *tls)
    scripts.append(master)
    assert master.wait_for("http_ready")["url"] == f"https://127.0.0.1:{http_port}/"
    agent = Script("mesopy-agent", f"--master=127.0.0.1:{port}", "--port=0", f"--work_dir={tmp_path / 'a1'}",
                   "--resources=cpus:1;mem:256;disk:256", *tls)
    scripts.append(agent)
    agent_url = str(agent.wait_for("http_ready")["url"])
    assert agent_url.startswith("https://")
    agent.wait_for("agent_registered")

    base = f"https://127.0.0.1:{http_port}"
    context = ssl.create_default_context(cafile=str(cert))
    with urllib.request.urlopen(base + "/master/state", timeout=10, context=context) as response:
        assert len(json.loads(response.read())["slaves"]) == 1
    with urllib.request.urlopen(agent_url + "state", timeout=10, context=context) as response:
        assert json.loads(response.read())["master_hostname"]
    cli = run_script("mesopy", f"--master={base}", f"--ssl_ca_file={cert}", "--json", "agents")
    assert cli.returncode == 0 and len(json.loads(cli.stdout)) == 1, cli.stderr
    status, _, body = post(base, {"type": "GET_HEALTH"}, path="/api/v1",
                           headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert status == 200 and json.loads(body)["get_health"]["healthy"]
    with urllib.request.urlopen(base + "/master/state", timeout=10, context=context) as response:
        agent_id = json.loads(response.read())["slaves"][0]["id"]
    sandboxes = f"/files/browse?path={tmp_path / 'a1'}"  # the web UI's way to an agent's files: over https too
    direct = post(agent_url.rstrip("/"), b"", {}, path=sandboxes, method="GET")
    proxied = post(base, b"", {}, path=f"/agent/{agent_id}{sandboxes}", method="GET")
    assert proxied[0] == direct[0] != 502 and proxied[2] == direct[2], (proxied, direct)

    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):  # the system's CAs: not ours
        urllib.request.urlopen(base + "/master/state", timeout=10, context=ssl.create_default_context())
    plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    try:
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine)):
            plain.request("GET", "/master/state")
            plain.getresponse()
    finally:
        plain.close()


def test_a_certificate_that_cannot_be_used_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    out = run_script("mesopy-master", "--port=0", f"--ssl_cert_file={cert}", f"--ssl_key_file={tmp_path / 'missing.key'}")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "missing.key" in out.stderr, out.stderr
