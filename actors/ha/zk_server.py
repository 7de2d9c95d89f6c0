"""A private ZooKeeper server (or ensemble) on loopback, from Debian's ``zookeeper`` package.

Each server is a ``java`` OS process started without the package's init
scripts, with its config and data directory under a temporary directory, its
client port free on 127.0.0.1, and its output in ``<dir>/server<i>.log``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Self

__all__ = ["ZOOKEEPER_JAR", "ZooKeeperServer", "free_ports"]

ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"
_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"  # standalone too, when no server.N lines


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 right now."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _mode(port: int) -> str | None:
    """The server's ``Mode:`` (standalone, leader, follower) from the ``srvr`` command, or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(b"srvr")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
    except OSError:
        return None
    for line in data.decode(errors="replace").splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return None


class ZooKeeperServer:
    """``with ZooKeeperServer() as zk: zk.url("/mesos")`` -> ``"zk://127.0.0.1:PORT/mesos"``.

    ``servers=3`` starts an ensemble; ``stop_server(i)`` / ``start_server(i)``
    kill -9 and restart one member (its data is kept), ``restart()`` all.
    """

    def __init__(self, servers: int = 1, *, tick_ms: int = 200, start_timeout: float = 30.0) -> None:
        if servers < 1:
            raise ValueError(f"servers must be >= 1, got {servers!r}")
        if not os.path.exists(ZOOKEEPER_JAR):
            raise RuntimeError(f"{ZOOKEEPER_JAR} is missing: install Debian's zookeeper package")
        self.java = shutil.which("java")
        if self.java is None:
            raise RuntimeError("java is not on PATH (Debian's zookeeper package brings it)")
        self.count = servers
        self.tick_ms = tick_ms
        self.start_timeout = start_timeout
        self.dir = ""
        self.ports: list[int] = []
        self._procs: list[subprocess.Popen[bytes] | None] = [None] * servers

    @property
    def hosts(self) -> str:
        """``127.0.0.1:p1,127.0.0.1:p2,...``: the connect string of every server."""
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def url(self, path: str = "/mesos") -> str:
        """The ``zk://hosts/path`` URL Mesos flags take."""
        return f"zk://{self.hosts}{path}"

    def start(self) -> Self:
        self.dir = tempfile.mkdtemp(prefix="mesopy-zk-")
        ports = free_ports(3 * self.count)
        self.ports = ports[: self.count]
        quorum = ports[self.count:]
        for i in range(self.count):
            data = os.path.join(self.dir, f"data{i}")
            os.makedirs(data)
            lines = [f"tickTime={self.tick_ms}", f"dataDir={data}", f"clientPort={self.ports[i]}",
                     "clientPortAddress=127.0.0.1", "admin.enableServer=false", "initLimit=50", "syncLimit=25",
                     "4lw.commands.whitelist=srvr,ruok", "minSessionTimeout=400", "maxSessionTimeout=60000"]
            if self.count > 1:
                with open(os.path.join(data, "myid"), "w") as f:
                    f.write(f"{i + 1}\n")
                lines += [f"server.{j + 1}=127.0.0.1:{quorum[2 * j]}:{quorum[2 * j + 1]}"
                          for j in range(self.count)]
            with open(os.path.join(self.dir, f"zoo{i}.cfg"), "w") as f:
                f.write("\n".join(lines) + "\n")
        try:
            for i in range(self.count):
                self._spawn(i)
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, i: int) -> None:
        log = open(os.path.join(self.dir, f"server{i}.log"), "ab")
        try:
            self._procs[i] = subprocess.Popen(
                [str(self.java), "-Xmx128m", "-Dzookeeper.log.dir=" + self.dir, "-cp",
                 f"/etc/zookeeper/conf:{ZOOKEEPER_JAR}", _MAIN, os.path.join(self.dir, f"zoo{i}.cfg")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()

    def wait_ready(self, indexes: list[int] | None = None) -> None:
        """Wait until the servers ``indexes`` (default: all running) serve; RuntimeError after start_timeout."""
        todo = [i for i in (range(self.count) if indexes is None else indexes) if self._procs[i] is not None]
        deadline = time.monotonic() + self.start_timeout
        while todo:
            for i in list(todo):
                proc = self._procs[i]
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"ZooKeeper server {i} exited with {proc.returncode}; see {self.dir}")
                if _mode(self.ports[i]) is not None:
                    todo.remove(i)
            if todo and time.monotonic() > deadline:
                raise RuntimeError(f"ZooKeeper servers {todo} not serving after {self.start_timeout} s; see {self.dir}")
            if todo:
                time.sleep(0.05)

    def mode(self, i: int = 0) -> str | None:
        """Server ``i``'s role (``standalone``, ``leader``, ``follower``), None when it does not answer."""
        return _mode(self.ports[i])

    def stop_server(self, i: int) -> None:
        """kill -9 server ``i`` (its data directory stays)."""
        proc, self._procs[i] = self._procs[i], None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def start_server(self, i: int, wait: bool = True) -> None:
        """Start server ``i`` again on its port with its data."""
        if self._procs[i] is None:
            self._spawn(i)
        if wait:
            self.wait_ready([i])

    def restart(self) -> None:
        """kill -9 every server, then start them all again."""
        for i in range(self.count):
            self.stop_server(i)
        for i in range(self.count):
            self.start_server(i, wait=False)
        self.wait_ready()

    def stop(self) -> None:
        for i in range(self.count):
            self.stop_server(i)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
