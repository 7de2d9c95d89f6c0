"""frameworks/state.py's DirectoryStore (keys, listing, one owner per directory, a writer killed
with kill -9 mid-put leaves the old or the new value) and the pure key rules it shares with
the ZooKeeper store."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from actors.ha.store_keys import check_key, decode_key, encode_key
from frameworks.state import SYNCFS_MIN_FILES, DirectoryStore, StateStore, StoreError, open_store, write_batch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_put_get_delete_and_keys_by_prefix(tmp_path: Path) -> None:
    store = open_store(None, str(tmp_path), "state")
    try:
        assert isinstance(store, StateStore) and isinstance(store, DirectoryStore)
        assert store.get("apps/prod/web") is None and store.keys() == []
        store.put("apps/prod/web", b"web")
        store.put("apps/prod", b"group")  # a key and the keys below it live side by side
        store.put("apps/prod/web", b"web2")
        store.put("framework_id", b"")
        assert store.get("apps/prod/web") == b"web2" and store.get("apps/prod") == b"group"
        assert store.get("framework_id") == b""
        assert store.keys() == ["apps/prod", "apps/prod/web", "framework_id"]
        assert store.keys("apps/prod/") == ["apps/prod/web"]
        store.delete("apps/prod")
        store.delete("never/written")  # missing: no error
        assert store.keys("apps") == ["apps/prod/web"]
        assert sorted(os.listdir(tmp_path / "state")) == [".lock", "apps%2Fprod%2Fweb.v", "framework_id.v"]
    finally:
        store.close()
    again = open_store(None, str(tmp_path), "state")  # what was put survives a reopen
    try:
        assert again.get("apps/prod/web") == b"web2" and again.keys() == ["apps/prod/web", "framework_id"]
    finally:
        again.close()


@pytest.mark.parametrize("key", ["", "/a", "a/", "a//b", "a/./b", "..", "a\x00b", "k" * 300, 7])
def test_bad_keys_are_refused_naming_the_key(tmp_path: Path, key: object) -> None:
    store = DirectoryStore(str(tmp_path))
    try:
        with pytest.raises(ValueError, match="state key"):
            store.put(key, b"x")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="state key"):
            store.get(key)  # type: ignore[arg-type]
    finally:
        store.close()


def test_keys_with_odd_characters_round_trip() -> None:
    for key in ["a.tmp", "a.v", "a%2Fb", "ü/ß x", "jobs/nightly-build.v"]:
        assert decode_key(encode_key(check_key(key))) == key
        assert "/" not in encode_key(key)
    assert decode_key("not%zzvalid") is None and decode_key("") is None


def test_bad_values_and_names(tmp_path: Path) -> None:
    store = DirectoryStore(str(tmp_path))
    try:
        with pytest.raises(TypeError, match="'k' must be bytes"):
            store.put("k", "text")  # type: ignore[arg-type]
    finally:
        store.close()
    for name in ["", "a/b", ".."]:
        with pytest.raises(ValueError, match="store name"):
            open_store(None, str(tmp_path), name)
    with pytest.raises(ValueError, match="--state_dir"):
        open_store(None, "", "state")
    with pytest.raises(ValueError, match="zk://"):
        open_store("http://nope:2181/x", str(tmp_path), "state")


def test_a_second_owner_of_the_directory_is_refused(tmp_path: Path) -> None:
    first = DirectoryStore(str(tmp_path / "s"))
    with pytest.raises(StoreError, match="in use by another process"):
        DirectoryStore(str(tmp_path / "s"))
    first.close()
    DirectoryStore(str(tmp_path / "s")).close()  # free again once closed


def test_concurrent_puts_of_one_key_leave_one_whole_value(tmp_path: Path) -> None:
    store = DirectoryStore(str(tmp_path))
    values = [bytes([i]) * (1000 + i * 997) for i in range(8)]
    try:

        def writer(value: bytes) -> None:
            for _ in range(10):
                store.put("k", value)

        threads = [threading.Thread(target=writer, args=(v,)) for v in values]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert store.get("k") in values
        assert sorted(os.listdir(tmp_path)) == [".lock", "k.v"]
    finally:
        store.close()


_WRITER = """
import hashlib, sys
from frameworks.state import DirectoryStore
store = DirectoryStore(sys.argv[1])
i = 0
while True:
    payload = (b"%d:" % i) * (5000 + 7919 * (i % 17))
    store.put("apps/prod/web", hashlib.sha256(payload).hexdigest().encode() + b"|" + payload)
    if i == 3:
        print("ready", flush=True)
    i += 1
"""


def _kill_9_at_random(writer: str, directory: str, rng: random.Random) -> None:
    """Start ``writer`` on ``directory``; once it is writing, kill -9 it at a random instant."""
    child = subprocess.Popen([sys.executable, "-c", writer, directory], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": ROOT})
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    threading.Event().wait(rng.uniform(0.0, 0.05))  # a random instant of its write loop
    child.send_signal(signal.SIGKILL)
    child.wait(5)
    child.stdout.close()


def test_kill_9_of_a_writer_mid_put_leaves_the_old_or_the_new_value(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    directory = str(tmp_path / "state")
    seen = set()
    for _ in range(8):
        _kill_9_at_random(_WRITER, directory, rng)
        store = DirectoryStore(directory)  # the dead writer's lock is gone with it
        try:
            value = store.get("apps/prod/web")
            assert value is not None
            digest, _, payload = value.partition(b"|")
            assert hashlib.sha256(payload).hexdigest().encode() == digest, "a torn value"
            assert int(payload.split(b":", 1)[0]) >= 3
            seen.add(payload[:8])
            assert store.keys() == ["apps/prod/web"]
            assert not [n for n in os.listdir(directory) if n.endswith(".tmp")]  # a cut put's temporary removed
        finally:
            store.close()
    assert len(seen) > 1  # the kills landed at different points


def test_write_many_applies_changes_in_order_durably(tmp_path: Path) -> None:
    store = DirectoryStore(str(tmp_path / "state"))
    try:
        store.put("tasks/old", b"old")
        store.write_many([("tasks/a", b"1"), ("tasks/b", b"2"), ("tasks/a", b"3"), ("tasks/old", None),
                          ("tasks/c", b"x"), ("tasks/c", None), ("never/written", None)])
        assert store.keys() == ["tasks/a", "tasks/b"] and store.get("tasks/a") == b"3"
        store.write_many([])
        store.write_many([(f"many/{n}", b"%d" % n) for n in range(SYNCFS_MIN_FILES * 2)])
        assert [store.get(f"many/{n}") for n in range(SYNCFS_MIN_FILES * 2)] == [
            b"%d" % n for n in range(SYNCFS_MIN_FILES * 2)]
        store.write_many([(f"many/{n}", None) for n in range(SYNCFS_MIN_FILES * 2)])
        with pytest.raises(TypeError, match="tasks/z"):
            store.write_many([("tasks/z", "text")])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="state key"):
            store.write_many([("/bad", b"x")])
        assert store.keys() == ["tasks/a", "tasks/b"]  # a refused batch changes nothing
        assert not [n for n in os.listdir(tmp_path / "state") if n.endswith(".tmp")]
    finally:
        store.close()
    again = DirectoryStore(str(tmp_path / "state"))
    try:
        assert again.get("tasks/a") == b"3" and again.get("tasks/b") == b"2" and again.get("tasks/old") is None
    finally:
        again.close()


def test_write_batch_falls_back_to_put_and_delete_in_order() -> None:
    calls: list[tuple[str, str, bytes | None]] = []

    class OneByOne:  # a StateStore without write_many (as the ZooKeeper store)
        def put(self, key: str, value: bytes) -> None:
            calls.append(("put", key, value))

        def delete(self, key: str) -> None:
            calls.append(("delete", key, None))

    write_batch(OneByOne(), [("a", b"1"), ("a", None), ("b", b"2")])  # type: ignore[arg-type]
    assert calls == [("put", "a", b"1"), ("delete", "a", None), ("put", "b", b"2")]


_BATCH_WRITER = """
import hashlib, sys
from frameworks.state import DirectoryStore
store = DirectoryStore(sys.argv[1])
i = 0
while True:
    batch = []
    for key in [f"tasks/{n}" for n in range(10)]:  # >= SYNCFS_MIN_FILES: one syncfs
        payload = (f"{i}:" + key * 2000).encode()
        batch.append((key, hashlib.sha256(payload).hexdigest().encode() + b"|" + payload))
    store.write_many(batch)
    if i == 3:
        print("ready", flush=True)
    i += 1
"""


def test_kill_9_mid_write_many_leaves_each_key_old_or_new(tmp_path: Path) -> None:
    rng = random.Random(17)
    directory = str(tmp_path / "state")
    for _ in range(3):
        _kill_9_at_random(_BATCH_WRITER, directory, rng)
        store = DirectoryStore(directory)
        try:
            assert store.keys() == sorted(f"tasks/{n}" for n in range(10))
            for key in store.keys():
                value = store.get(key)
                assert value is not None
                digest, _, payload = value.partition(b"|")
                assert hashlib.sha256(payload).hexdigest().encode() == digest, f"{key}: a torn value"
                assert int(payload.split(b":", 1)[0]) >= 3
        finally:
            store.close()
