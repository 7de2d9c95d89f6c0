"""The pure pieces of the HTTP side: sandbox path confinement, partial UTF-8
reads, the CLI's address and task-prefix rules and word splitting, and the
--http_port default."""

from __future__ import annotations

import os
from typing import Any

import pytest

from actors.agent.files import FilesError, SandboxFiles
from actors.master.config import MasterConfig
from actors.mesopy_cli import split_words
from actors.mesopy_client import ClientError, base_url, pick_task


@pytest.fixture
def sandbox(tmp_path: Any) -> tuple[SandboxFiles, str]:
    run = tmp_path / "work" / "slaves" / "S0" / "frameworks" / "F1" / "executors" / "E1" / "runs" / "C1"
    run.mkdir(parents=True)
    (run / "stdout").write_bytes("héllo\n".encode())
    return SandboxFiles(str(tmp_path / "work")), str(run)


def test_a_sandbox_path_resolves_and_the_virtual_latest_run_too(sandbox: tuple[SandboxFiles, str]) -> None:
    files, run = sandbox
    assert files.resolve(run + "/stdout") == os.path.realpath(run + "/stdout")
    assert files.resolve("/frameworks/F1/executors/E1/runs/latest/stdout") == os.path.realpath(run + "/stdout")
    assert [e["path"] for e in files.browse(run)] == [run + "/stdout"]


@pytest.mark.parametrize("path, status", [
    ("", 400), ("/etc/passwd", 403), ("relative", 403), ("{run}/../../../../../..", 403),
    ("{run}/nope", 404), ("/frameworks/F1/executors/E9/runs/latest/stdout", 404),
    ("/frameworks/F1/executors/E1/runs/C1/stdout", 404), ("{run}/a\x00b", 400),
])
def test_bad_paths_are_refused(sandbox: tuple[SandboxFiles, str], path: str, status: int) -> None:
    files, run = sandbox
    with pytest.raises(FilesError) as refused:
        files.resolve(path.format(run=run))
    assert refused.value.status == status


def test_a_symlink_out_of_the_sandboxes_is_refused(sandbox: tuple[SandboxFiles, str], tmp_path: Any) -> None:
    files, run = sandbox
    (tmp_path / "outside").write_text("x")
    os.symlink(str(tmp_path / "outside"), run + "/link")
    with pytest.raises(FilesError) as refused:
        files.read(run + "/link", 0, None)
    assert refused.value.status == 403


def test_reads_end_on_a_whole_utf8_character(sandbox: tuple[SandboxFiles, str]) -> None:
    files, run = sandbox
    assert files.read(run + "/stdout", 0, 2) == {"offset": 0, "data": "h"}  # "é" is 2 bytes: not split
    assert files.read(run + "/stdout", 1, 10) == {"offset": 1, "data": "éllo\n"}
    assert files.read(run + "/stdout", -1, None) == {"offset": 7, "data": ""}


def test_a_read_from_inside_a_character_starts_at_the_next_whole_one(sandbox: tuple[SandboxFiles, str]) -> None:
    """The web UI's tail starts 64 KiB before a file's end, wherever that falls: the answer's
    offset is where its data really starts, so ``offset + len(data.encode())`` stays exact."""
    files, run = sandbox
    assert files.read(run + "/stdout", 2, 10) == {"offset": 3, "data": "llo\n"}  # byte 2 is inside "é"
    with open(run + "/stdout", "ab") as f:
        f.write("€!".encode())  # 3 bytes, then 1
    assert files.read(run + "/stdout", 8, 10) == {"offset": 10, "data": "!"}


def test_base_url_accepts_host_port_and_urls() -> None:
    assert base_url("10.0.0.1:5040") == "http://10.0.0.1:5040"
    assert base_url("http://h:1/") == "http://h:1"
    for bad in ("", "ftp://h:1", "h:notaport"):
        with pytest.raises(ClientError):
            base_url(bad)


def test_pick_task_exact_then_unique_prefix() -> None:
    tasks = [{"id": "web-1"}, {"id": "web-10"}, {"id": "db-1"}]
    assert pick_task(tasks, "web-1")["id"] == "web-1"  # exact beats the prefix of web-10
    assert pick_task(tasks, "d")["id"] == "db-1"
    with pytest.raises(ClientError, match="web-1, web-10"):
        pick_task(tasks, "web")
    with pytest.raises(ClientError, match="'x'"):
        pick_task(tasks, "x")


def test_split_words_keeps_flag_values_and_maps_dash_f() -> None:
    assert split_words(["--master", "h:1", "tail", "-f", "t1", "--json"]) == (
        ["--master", "h:1", "--follow", "--json"], ["tail", "t1"])
    assert split_words(["tasks", "--all", "--master=h:1"]) == (["--all", "--master=h:1"], ["tasks"])


def test_http_port_defaults_to_the_actor_port_minus_10() -> None:
    assert MasterConfig(port=5050).http_listen_port() == 5040
    assert MasterConfig(port=0).http_listen_port() == 0
    assert MasterConfig(port=5050, http_port=8080).http_listen_port() == 8080
    with pytest.raises(ValueError, match="--http_port"):
        MasterConfig(port=5).validate()


def test_concurrent_requests_share_one_run_that_starts_after_them() -> None:
    import asyncio
    import threading

    from actors.http_common import Coalesced
    from actors.node import Node
    from actors.process import Process

    holder: list[Process] = []

    class Viewed(Process):
        def __init__(self, node: Node, name: str) -> None:
            super().__init__(node, name)
            holder.append(self)

    release, first_started = threading.Event(), threading.Event()
    runs: list[int] = []

    def compute() -> int:
        runs.append(len(runs) + 1)
        if len(runs) == 1:
            first_started.set()
            assert release.wait(10)
        return runs[-1]

    async def scenario(view: Coalesced[int]) -> tuple[int, list[int]]:
        first = asyncio.ensure_future(view())
        await asyncio.get_running_loop().run_in_executor(None, first_started.wait, 10)
        later = [asyncio.ensure_future(view()) for _ in range(50)]
        await asyncio.sleep(0)  # let them join before the first run ends
        release.set()
        return await first, list(await asyncio.gather(*later))

    with Node() as node:
        Viewed.spawn(node, "viewed")
        first, later = asyncio.run(scenario(Coalesced(holder[0], compute)))
    assert first == 1 and later == [2] * 50 and runs == [1, 2]
