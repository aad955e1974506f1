"""The single-writer lock: a second writer of a store refuses, naming the first; a stale one is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from hmi.store import Store, StoreLock, StoreLocked
from hmi.store.lock import lock_path, read_holder


def test_a_second_lock_on_the_same_store_is_refused_naming_the_holder(tmp_path):
    first = StoreLock(tmp_path / "history.db")
    first.acquire()
    try:
        with pytest.raises(StoreLocked) as refused:
            StoreLock(tmp_path / "history.db").acquire()
        holder = refused.value.holder
        assert holder is not None and holder.pid == os.getpid() and holder.host == socket.gethostname()
        message = str(refused.value)
        assert f"pid {os.getpid()}" in message and socket.gethostname() in message
        assert str(tmp_path / "history.db") in message and holder.started in message
    finally:
        first.release()
    second = StoreLock(tmp_path / "history.db")
    second.acquire()  # free again once released
    second.release()


def test_a_lock_file_left_by_a_dead_process_is_taken_over(tmp_path):
    path = tmp_path / "history.db"
    dead = {
        "pid": 999_999_999,
        "host": "elsewhere",
        "command": "hmi demo",
        "started": "2026-01-01T00:00:00+0000",
    }
    lock_path(path).write_text(json.dumps(dead), encoding="utf-8")  # no process holds the OS lock
    lock = StoreLock(path)
    lock.acquire()
    try:
        holder = read_holder(lock.path)
        assert holder is not None and holder.pid == os.getpid()
    finally:
        lock.release()


def test_a_store_held_by_another_process_refuses_before_touching_the_file(tmp_path):
    path = tmp_path / "history.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys
                from hmi.store import StoreLock
                lock = StoreLock({str(path)!r})
                lock.acquire()
                print("held", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = Store(path)
        with pytest.raises(StoreLocked, match=f"pid {holder.pid}"):
            store.open()
        assert not path.exists()  # refused before the migrations: nothing written
        assert not store.lock.held
    finally:
        holder.communicate("", timeout=30)
    store = Store(path)
    store.open()  # the holder exited: the OS let go of its lock
    store.close()
