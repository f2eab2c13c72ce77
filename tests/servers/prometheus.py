"""A real Prometheus on a free loopback port, in a directory of its own.

    server = start_prometheus(tmp_path, ["http://127.0.0.1:8000/metrics"])
    server.url            # http://127.0.0.1:<port>
    server.stop()         # an outage: nothing listens on the port any more
    server.start()        # back, same port, same data directory
    server.close()        # stop for good (also what the context manager does)

`prometheus_factory` is the pytest fixture over it; `require_prometheus()` skips
a test when the binary is missing, except under CI (`CI` set), where a missing
binary fails loudly: the suite must not pass by skipping its integration tests.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.servers.binaries import find_binary, free_port, require_binary


def prometheus_binary() -> str | None:
    return find_binary("prometheus")


def require_prometheus() -> str:
    return require_binary("prometheus", "prometheus")


def _config(targets: list[str], scrape_interval: str) -> str:
    jobs = []
    for i, target in enumerate(targets):
        url = urllib.parse.urlsplit(target if "://" in target else f"http://{target}")
        jobs.append(
            {
                "job_name": f"target-{i}",
                "scheme": url.scheme or "http",
                "metrics_path": url.path or "/metrics",
                "static_configs": [{"targets": [url.netloc]}],
            }
        )
    # JSON is YAML: no YAML writer needed.
    return json.dumps(
        {
            "global": {
                "scrape_interval": scrape_interval,
                "scrape_timeout": scrape_interval,
                "evaluation_interval": scrape_interval,
            },
            "scrape_configs": jobs,
        },
        indent=2,
    )


class _PortTaken(Exception):
    """Another process bound the port between free_port() and Prometheus's own bind."""


class PromServer:
    """One Prometheus process that can be stopped and started again on the same port and data."""

    def __init__(
        self,
        workdir: Path,
        scrape_targets: list[str],
        *,
        scrape_interval: str = "1s",
        port: int | None = None,
        binary: str | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = binary or prometheus_binary() or "prometheus"
        self.port = port or free_port()
        self.fixed_port = port is not None  # else a port taken between free_port() and bind is chosen again
        self.started = False  # once started, every restart keeps the port: clients know it
        self.config = self.workdir / "prometheus.yml"
        self.config.write_text(_config(scrape_targets, scrape_interval), encoding="utf-8")
        self.data = self.workdir / "data"
        self.log = self.workdir / "prometheus.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 20.0) -> PromServer:
        if self.running:
            return self
        for _attempt in range(4):
            try:
                return self._start(timeout)
            except _PortTaken:
                self.port = free_port()
        return self._start(timeout)

    def _start(self, timeout: float) -> PromServer:
        logged = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.data}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if not (self.fixed_port or self.started) and b"address already in use" in self._log_since(logged):
                    raise _PortTaken
                raise RuntimeError(f"prometheus exited with code {self.proc.returncode}: {self._tail()}")
            if self._ready():
                self.started = True
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"prometheus was not ready within {timeout:g} s: {self._tail()}")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL); the data directory stays for `start()`."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    close = stop

    def __enter__(self) -> PromServer:
        return self.start() if not self.running else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resp:
                return bool(resp.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def _log_since(self, offset: int) -> bytes:
        try:
            with open(self.log, "rb") as log:
                log.seek(offset)
                return log.read()
        except OSError:
            return b""

    def _tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query, synchronously (for polling in tests); [] on any failure."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                body = json.load(resp)
        except (OSError, ValueError):
            return []
        return body.get("data", {}).get("result", []) if body.get("status") == "success" else []

    def wait_for(self, promql: str, at_least: float, timeout: float = 30.0) -> float:
        """Poll until `promql` (one series) reaches `at_least`; return its value or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        value = float("nan")
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result:
                value = float(result[0]["value"][1])
                if value >= at_least:
                    return value
            time.sleep(0.1)
        raise TimeoutError(f"{promql} stayed below {at_least:g} (last: {value}) for {timeout:g} s: {self._tail()}")


def start_prometheus(tmp_path: Path, scrape_targets: list[str], **kwargs: Any) -> PromServer:
    """Write the config, start Prometheus and wait until it is ready (`stop()` it when done)."""
    return PromServer(Path(tmp_path) / "prometheus", scrape_targets, **kwargs).start()


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[Callable[..., PromServer]]:
    """`start(scrape_targets, **kwargs) -> PromServer`; every server started is stopped afterwards."""
    require_prometheus()
    servers: list[PromServer] = []

    def start(scrape_targets: list[str], **kwargs: Any) -> PromServer:
        server = PromServer(tmp_path / f"prometheus-{len(servers)}", scrape_targets, **kwargs)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@contextmanager
def scraping(
    world: Any, clock: Any, tmp_path: Path, tick_every: float = 0.02, **prom_options: Any
) -> Iterator[tuple[PromServer, threading.Lock]]:
    """A simulated world that lives on in a thread (ticked every `tick_every` s on `clock`), its exporter, and a
    real Prometheus scraping it; (the server, the lock that guards the world). Everything stops on exit."""
    from backends.sim.exporter import start_exporter

    lock, stop = threading.Lock(), threading.Event()

    def tick() -> None:
        while not stop.is_set():
            with lock:
                world.tick(clock.now())
            stop.wait(tick_every)

    ticker = threading.Thread(target=tick, daemon=True, name="sim-world")
    ticker.start()
    exporter = start_exporter(world)
    prom: PromServer | None = None
    try:
        prom = start_prometheus(tmp_path, [exporter.url], **prom_options)
        yield prom, lock
    finally:
        if prom is not None:
            prom.stop()
        stop.set()
        ticker.join(5)
        exporter.close()
