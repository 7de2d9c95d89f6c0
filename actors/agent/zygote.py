"""The agent's executor launcher (a zygote): ``python -m actors.agent.zygote FD``.

Started once per agent, it imports the command executor and then forks one
executor per command task on request, so a task pays for a fork instead of a
fresh interpreter and its imports. It speaks JSON datagrams on the
SOCK_SEQPACKET socket ``FD`` (the agent's end is ``actors.agent.zygote_client``):

- it sends ``{"ready": pid, "env_space": bytes}`` once started;
- a request ``{"id", "directory", "stdout", "stderr", "env", "cgroup_procs"}``
  is answered ``{"id", "pid"}`` (or ``{"id", "error"}``) right after the fork;
- ``{"exit": pid, "returncode": rc}`` follows when that child ends (Popen's
  convention: -N for a signal), as it reaps its children.

The forked child becomes the executor exactly as an exec'd one would start: a
new session, stdin from /dev/null and stdout/stderr appended to the sandbox's
files, its cgroups joined (``isolation.Entry``: its pid written to each
``cgroup.procs``, while it registers, on the thread that will start the task's
command; the command starts only once that is done, and fails when it could not be), the sandbox as its
working directory, only the MESOS_* environment it was given
(also in /proc/PID/environ, which agent recovery reads: the zygote starts with
``env_space`` bytes of environment that each child rewrites in place), no
other file descriptors, default signal handlers. Then it runs
``actors.executor.command.main()``. The task's user switch stays where it is
(setpriv, for the task's command only). When the agent's end closes, the
zygote stops forking and exits once its children are gone.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import selectors
import signal
import socket
import sys
import threading
import traceback
from typing import Any

__all__ = ["ENV_SPACE", "ENV_SPACE_VARIABLE", "CgroupJoin", "environ_block", "main", "write_proc_environ"]

ENV_SPACE_VARIABLE = "MESOPY_ZYGOTE_ENV_SPACE"  # padding that reserves room for the children's environments
ENV_SPACE = 64 * 1024
LAUNCH_FAILED_STATUS = 125  # as isolation.cgroupfs.LAUNCHER_EXIT_STATUS
MAX_MESSAGE = 1 << 20


def environ_block(env: dict[str, str]) -> bytes:
    """``env`` as the kernel lays out an environment: ``NAME=value\\0`` each."""
    return b"".join(f"{k}={v}".encode() + b"\0" for k, v in env.items())


def _environ_area() -> tuple[int, int]:
    """Start and end address of this process's environment strings (/proc/self/stat 50, 51)."""
    with open("/proc/self/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return int(fields[47]), int(fields[48])  # fields[0] is field 3 (state)


def env_space() -> int:
    start, end = _environ_area()
    return end - start


def write_proc_environ(env: dict[str, str]) -> None:
    """Make /proc/self/environ show ``env`` by overwriting the environment strings this process
    was exec'd with (the rest zero-filled); ValueError when they do not fit. Call only after
    ``os.environ`` holds ``env`` (libc's environ then points at copies, not at the old strings)."""
    block = environ_block(env)
    start, end = _environ_area()
    if len(block) > end - start:
        raise ValueError(f"environment of {len(block)} bytes does not fit in the launcher's {end - start}")
    ctypes.memmove(start, block + bytes(end - start - len(block)), end - start)


def _become_executor(request: dict[str, Any]) -> int:
    """In the forked child: enter the sandbox, session and cgroups; run the command executor.
    The zygote's descriptors are closed under its objects; they live (unused) in the zygote's
    frames below this one until ``os._exit``, so nothing closes those numbers again."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()  # until then the agent's kill of our session falls back to our pid (executors.kill_group)
    for target, path, flags in ((0, os.devnull, os.O_RDONLY),
                                (1, request["stdout"], os.O_WRONLY | os.O_APPEND | os.O_CREAT),
                                (2, request["stderr"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)):
        fd = os.open(path, flags, 0o644)
        os.dup2(fd, target)
        os.close(fd)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    entry = CgroupJoin([str(p) for p in request["cgroup_procs"]])
    os.chdir(request["directory"])
    env = {str(k): str(v) for k, v in request["env"].items()}
    os.environ.clear()
    os.environ.update(env)
    write_proc_environ(env)
    sys.argv = [sys.executable, "-m", "actors.executor.command"]
    from actors.executor import command
    return command.main(entry, entry.join)


class CgroupJoin:
    """This process's move into its cgroups (its pid written to each ``cgroup.procs``).
    ``join()`` runs on the thread that will start the task's command, started early by the
    command executor (a cgroup v1 move waits ~10-20 ms for an RCU grace period: it overlaps the
    executor's registration, and costs no thread of its own). Calling the object (the command
    executor's ``entered``) waits for the join; OSError naming the cgroup when it failed."""

    def __init__(self, cgroup_procs: list[str]) -> None:
        self._procs = cgroup_procs
        self._errors: list[str] = []
        self._done = threading.Event()

    def join(self) -> None:
        try:
            for procs in self._procs:
                try:
                    with open(procs, "w") as f:
                        f.write(str(os.getpid()))
                except OSError as e:
                    self._errors.append(f"cannot join cgroup {os.path.dirname(procs)}: {e}")
                    print(f"mesopy-launcher: {self._errors[-1]}", file=sys.stderr, flush=True)
                    return
        except BaseException as e:  # never a task outside its cgroups because the join broke
            self._errors.append(f"cannot join cgroups: {type(e).__name__}: {e}")
            raise
        finally:
            self._done.set()

    def __call__(self) -> None:
        self._done.wait()
        if self._errors:
            raise OSError(self._errors[0])


def _spawn(request: dict[str, Any]) -> int:
    """Fork the executor; returns its pid at once (not waiting for the child to be scheduled)."""
    pid = os.fork()
    if pid == 0:
        status = LAUNCH_FAILED_STATUS
        try:
            status = _become_executor(request)
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(status)
    return pid


def _reap(sock: socket.socket, children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            children.clear()
            return
        if pid == 0:
            return
        children.discard(pid)
        _send(sock, {"exit": pid, "returncode": os.waitstatus_to_exitcode(status)})


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    try:
        sock.send(json.dumps(message).encode())
    except OSError:
        pass  # the agent is gone; its children are still reaped


def _answer(sock: socket.socket, data: bytes, children: set[int], space: int) -> None:
    request: Any = None
    try:
        request = json.loads(data)
        if not isinstance(request, dict):
            raise ValueError(f"request must be a JSON object, got {data[:100]!r}")
        block = len(environ_block({str(k): str(v) for k, v in request["env"].items()}))
        if block > space:
            raise ValueError(f"environment of {block} bytes does not fit in the launcher's {space}")
        pid = _spawn(request)
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as e:
        _send(sock, {"id": request.get("id") if isinstance(request, dict) else None, "error": str(e)})
        return
    children.add(pid)
    _send(sock, {"id": request["id"], "pid": pid})


def _release_streams() -> None:
    """Once the agent is gone, let go of its stdout/stderr: whoever reads them (a supervisor, a test)
    must see them close when the agent dies, not when its last checkpointed executor ends."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def serve(sock: socket.socket) -> None:
    """Fork on each request until the agent's end closes and no child is left."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.set_wakeup_fd(wake_w)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    children: set[int] = set()
    open_ = True
    space = env_space()
    gc.freeze()  # what was imported stays in shared pages: the collector does not touch it in the children
    _send(sock, {"ready": os.getpid(), "env_space": space})
    while open_ or children:
        for key, _ in selector.select(timeout=None if open_ else 1.0):
            if key.fileobj is sock:
                try:
                    data = sock.recv(MAX_MESSAGE)
                except OSError:  # ECONNRESET: the agent died (kill -9) with our answers unread
                    data = b""
                if not data:
                    open_ = False
                    selector.unregister(sock)
                    _release_streams()
                    continue
                _answer(sock, data, children, space)
            else:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
        _reap(sock, children)


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: python -m actors.agent.zygote FD (a SOCK_SEQPACKET socket to the agent)", file=sys.stderr)
        return 2
    sock = socket.socket(fileno=int(sys.argv[1]))
    import actors.executor.command  # noqa: F401  (the point: imported once, here, for every child)
    if threading.active_count() != 1:  # a fork would copy a half-held lock
        print(f"mesopy zygote: {threading.active_count()} threads after imports; cannot fork safely",
              file=sys.stderr)
        return 1
    serve(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
