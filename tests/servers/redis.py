"""A real redis-server on a free loopback port, in a directory of its own.

    server = start_redis(tmp_path)                 # keyspace notifications on (KEA)
    server.url            # redis://127.0.0.1:<port>/0 (with :password@ when one is set)
    server.stop()         # an outage: nothing listens on the port any more
    server.stop(kill=True)  # the same, by SIGKILL
    server.start()        # back, same port (empty: nothing is persisted)

`redis_server` is the pytest fixture over it, `redis_factory` starts more with
options. A missing binary skips the test, except under CI (`CI` set) where it
fails: the suite must not pass by skipping its integration tests.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.servers.binaries import find_binary, free_port, require_binary

if TYPE_CHECKING:
    import redis


def redis_binary() -> str | None:
    return find_binary("redis-server")


def require_redis() -> str:
    return require_binary("redis-server", "redis-server")


def _answers(port: int, password: str | None) -> bool:
    """True when something on the port speaks RESP (any reply to PING, even NOAUTH)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64)[:1] in (b"+", b"-")
    except OSError:
        return False


class RedisServer:
    """One redis-server process that can be stopped and started again on the same port."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        notify_keyspace: bool = True,
        password: str | None = None,
        binary: str | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = binary or redis_binary() or "redis-server"
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.notify_keyspace = notify_keyspace
        self.password = password
        self.log = self.workdir / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _args(self) -> list[str]:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--logfile",
            str(self.log),
        ]
        if self.notify_keyspace:
            args += ["--notify-keyspace-events", "KEA"]
        if self.password:
            args += ["--requirepass", self.password]
        return args

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start (or restart, on the same port) and wait until it answers PING."""
        if self.running:
            return self
        for attempt in range(5):
            with open(self.log, "ab") as log:  # startup errors land next to the server's own log
                self.proc = subprocess.Popen(self._args(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if _answers(self.port, self.password):
                    return self
                time.sleep(0.02)
            else:
                self.stop(kill=True)
                raise RuntimeError(f"redis-server was not answering within {timeout:g} s: {self._tail()}")
            # exited: most likely the port was taken between free_port() and bind
            if self.fixed_port or attempt == 4:
                raise RuntimeError(f"redis-server exited with code {self.proc.returncode}: {self._tail()}")
            self.port = free_port()
        raise AssertionError("unreachable")

    def stop(self, kill: bool = False) -> None:
        """Stop the process (SIGTERM, or SIGKILL with kill=True) and wait until the port is free."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill() if kill else proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    close = stop

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self) -> redis.Redis:
        """A synchronous redis-py client, as the seed's Python manager uses."""
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password)

    def _tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            text = []
        return " | ".join(text[-lines:]) or "(empty log)"


def start_redis(
    tmp_path: Path, port: int | None = None, *, notify_keyspace: bool = True, password: str | None = None
) -> RedisServer:
    """Start redis-server (no persistence, loopback only) and wait until PING works."""
    require_redis()
    return RedisServer(
        Path(tmp_path) / f"redis-{port or 'auto'}-{time.monotonic_ns()}",
        port,
        notify_keyspace=notify_keyspace,
        password=password,
    ).start()


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """`start(**kwargs) -> RedisServer` (kwargs of `start_redis`); all are stopped afterwards."""
    require_redis()
    servers: list[RedisServer] = []

    def start(**kwargs: object) -> RedisServer:
        server = start_redis(tmp_path, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(kill=True)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server with keyspace notifications on, for one test."""
    server = start_redis(tmp_path)
    yield server
    server.stop(kill=True)
