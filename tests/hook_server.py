"""A real HTTP endpoint on loopback for webhook tests: records bodies, answers as told."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class HookServer:
    status: dict[str, int] = field(default_factory=dict)  # path -> HTTP status (default 200)
    delay: dict[str, float] = field(default_factory=dict)  # path -> seconds before answering
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def start(self) -> HookServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [b for p, b in self.received if p == path]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            path = lines[0].split(" ")[1].lstrip("/")
            length = next((int(h.split(":", 1)[1]) for h in lines if h.lower().startswith("content-length:")), 0)
            body = json.loads(await reader.readexactly(length)) if length else {}
            self.received.append((path, body))
            if self.delay.get(path):
                await asyncio.sleep(self.delay[path])
            code = self.status.get(path, 200)
            text = b"ok" if code < 300 else b"not yet"
            head = b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (code, len(text))
            writer.write(head + text)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def hook_server() -> AsyncIterator[HookServer]:
    s = await HookServer().start()
    yield s
    await s.stop()
