"""The processes of test_endpoint_kill_rebind.py, one per OS process.

``python tests/integration/rebind_peer.py listen PORT``: a TCP listener on 127.0.0.1:PORT that
accepts connections and never answers (a process killed -9 in the middle of the ZeroMQ handshake
is one that has accepted and not yet spoken). It prints ``listening``, then ``accepted`` for each
connection, and runs until it is killed or its stdin closes.

``python tests/integration/rebind_peer.py endpoint PORT TO``: a transport Endpoint bound to
127.0.0.1:PORT. It prints ``ready <incarnation>``; each line ``send N`` on stdin sends
``Echo(seq=N)`` from ``p@<its address>`` to ``w@TO``; it stops when its stdin closes.
"""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

if __name__ == "__main__":
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from actors.logs import configure_logging
from transport.codec import encode_envelope
from transport.endpoint import Endpoint
from transport.messages import Echo


def _listen(port: int) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    print("listening", flush=True)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            conn, _ = server.accept()
            held.append(conn)  # kept open, never written to
            print("accepted", flush=True)

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()


def _endpoint(port: int, to: str) -> None:
    configure_logging(level="info")  # on stderr: stdout carries only the ready line
    endpoint = Endpoint(port=port, on_envelope=lambda env: None)
    endpoint.start()
    print(f"ready {endpoint.incarnation}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["send"]:
            endpoint.send(to, encode_envelope(f"p@{endpoint.address}", f"w@{to}", Echo(seq=int(words[1]))))
    endpoint.stop()


def main(argv: list[str]) -> None:
    if argv[0] == "listen":
        _listen(int(argv[1]))
    elif argv[0] == "endpoint":
        _endpoint(int(argv[1]), argv[2])
    else:
        raise SystemExit(f"usage: {Path(__file__).name} listen PORT | endpoint PORT TO")


if __name__ == "__main__":
    main(sys.argv[1:])
