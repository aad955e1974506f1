"""Server set-up the benchmarks share: free loopback ports, Modbus servers as child processes, and the
OPC UA server process with its address space of numbered variables."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

NODES_PER_FOLDER = 1_000
"""Under one parent each addition is slower than the last: folders of this many keep a big space quick."""


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def server_processes(commands: Sequence[Sequence[str]], quiet: bool = False) -> AsyncIterator[None]:
    """``python -m COMMAND...`` for each command, until each prints a line saying it is listening.

    Each child's stdin is a pipe closed when we exit, however we exit: the server then ends too.
    ``quiet``: the children's stderr is discarded.
    """
    stderr = subprocess.DEVNULL if quiet else None
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", *command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
        )
        for command in commands
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            if b"listening" not in line:
                raise RuntimeError(f"benchmark server did not start: {line!r}")
        yield
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
            await process.wait()


async def opcua_server(port: int) -> Any:
    """An initialised asyncua server on 127.0.0.1:``port``, no security, its own clock off (not started)."""
    from asyncua import Server, ua

    server = Server()
    await server.init()
    server.disable_clock(True)
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    return server


async def add_numbered_variables(server: Any, namespace: int, items: int) -> list[Any]:
    """Variables ``ns=NAMESPACE;i=1..items`` (value 0.0) in folders of :data:`NODES_PER_FOLDER`; their ids."""
    from asyncua import ua

    nodes = [ua.NodeId(index, namespace) for index in range(1, items + 1)]
    for start in range(0, items, NODES_PER_FOLDER):
        name = f"F{start // NODES_PER_FOLDER}"
        folder_id, folder_name = ua.NodeId(name, namespace), ua.QualifiedName(name, namespace)
        folder = await server.nodes.objects.add_folder(folder_id, folder_name)
        for node in nodes[start : start + NODES_PER_FOLDER]:
            await folder.add_variable(node, ua.QualifiedName(f"V{node.Identifier}", namespace), 0.0)
    return nodes


class ServerProcess:
    """A spawned server process talking over a pipe, started and stopped around a ``with`` block.

    ``target(*args, control)`` runs in the child; its first message (``ready``) says it serves;
    ``("stop",)`` ends it, else it is killed.
    """

    def __init__(self, target: Callable[..., None], args: tuple[Any, ...], start_timeout: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.control, server_end = context.Pipe()
        self.ready: Any = None
        self._start_timeout = start_timeout
        self._process = context.Process(target=target, args=(*args, server_end), daemon=True)

    def __enter__(self) -> ServerProcess:
        self._process.start()
        if not self.control.poll(self._start_timeout):
            self.__exit__()
            raise RuntimeError("the benchmark server did not start")
        self.ready = self.control.recv()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._process.is_alive():
            self.control.send(("stop",))
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
