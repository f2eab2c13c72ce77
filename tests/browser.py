"""A real headless Chromium driven over the DevTools protocol (CDP, a websocket through aiohttp).

`Chromium.page(url)` opens a tab; `Page.terminal_text()` reads what the page's
xterm.js terminal shows, line by line, from the terminal's own buffer. The page
bundles its Terminal inside a closure, so the tab intercepts textual-serve's
`textual.js` on the way in (CDP `Fetch`) and adds one statement that keeps a
reference to each terminal it creates; everything else runs as served.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import signal
import subprocess
import tempfile
from typing import Any

import aiohttp

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",  # a desktop browser window: the room gets its wide layout, names untruncated
]
#: In textual.js: `t.forEach((e=>{const t=new w(e,{ping:r});` creates each terminal.
_CREATE = re.compile(rb"(const (\w+)=new (\w+)\(e,\{ping:(\w+)\}\);)")
KEEP = b"window.__shiftroomTerminals=window.__shiftroomTerminals||[];window.__shiftroomTerminals.push(%s);"

READ_LINES = """(() => {
  const t = (window.__shiftroomTerminals || [])[0];
  if (!t) return null;
  const b = t.terminal.buffer.active, out = [];
  for (let i = 0; i < t.terminal.rows; i++) { const l = b.getLine(i); out.push(l ? l.translateToString(true) : ""); }
  return out.join("\\n");
})()"""


def keep_terminals(js: bytes) -> bytes:
    match = _CREATE.search(js)
    if match is None:
        raise AssertionError("textual.js no longer creates its terminal the way this test expects")
    return js[: match.end()] + KEEP % match.group(2) + js[match.end() :]


class Chromium:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.profile = tempfile.TemporaryDirectory(prefix="shiftroom-chromium-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.http: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Chromium:
        self.proc = subprocess.Popen(
            [self.binary, *FLAGS, f"--user-data-dir={self.profile.name}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its zygote, renderers and crash handler in one group, stopped together
        )
        url = await asyncio.to_thread(self._devtools_url)
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(url, max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        return self

    def _devtools_url(self) -> str:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            if "DevTools listening on " in line:
                return line.split("DevTools listening on ", 1)[1].strip()
        raise AssertionError("chromium exited before it opened its DevTools port")

    async def __aexit__(self, *exc: object) -> None:
        if self._reader:
            self._reader.cancel()
        if self.ws:
            await self.ws.close()
        if self.http:
            await self.http.close()
        if self.proc:
            await asyncio.to_thread(self._stop_group, self.proc)
        for attempt in range(20):  # a member of the group may still be finishing a write into the profile
            try:
                self.profile.cleanup()
                return
            except OSError:
                if attempt == 19:
                    raise
                await asyncio.sleep(0.25)

    @staticmethod
    def _stop_group(proc: subprocess.Popen[bytes]) -> None:
        """Stop chromium and every process it started (they write into the profile until they exit)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group outlived the browser process

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            data = json.loads(msg.data)
            fut = self._pending.pop(data.get("id", -1), None)
            if fut is not None:
                fut.set_result(data)
            elif "method" in data:
                await self._events.put(data)

    async def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        assert self.ws is not None
        n = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[n] = fut
        body: dict[str, Any] = {"id": n, "method": method, "params": params or {}}
        if session:
            body["sessionId"] = session
        await self.ws.send_str(json.dumps(body))
        reply = await asyncio.wait_for(fut, 30)
        if "error" in reply:
            raise AssertionError(f"CDP {method}: {reply['error']}")
        return reply.get("result", {})

    async def terminal_text(self, url: str, until: re.Pattern[str], timeout: float = 60.0) -> str:
        """Open `url`, then return the terminal's text once it matches `until` (or fail with what it showed)."""
        target = (await self.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await self.send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        await self.send(
            "Fetch.enable", {"patterns": [{"urlPattern": "*textual.js*", "requestStage": "Response"}]}, session
        )
        await self.send("Runtime.enable", {}, session)
        await self.send("Page.navigate", {"url": url}, session)
        patched = asyncio.create_task(self._patch_script(session))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        text = ""
        while loop.time() < deadline:
            got = await self.send("Runtime.evaluate", {"expression": READ_LINES, "returnByValue": True}, session)
            text = got.get("result", {}).get("value") or ""
            if until.search(text):
                patched.cancel()
                return text
            await asyncio.sleep(0.25)
        patched.cancel()
        raise AssertionError(f"the page never showed {until.pattern!r}; its terminal showed:\n{text}")

    async def _patch_script(self, session: str) -> None:
        while True:
            event = await self._events.get()
            if event.get("method") != "Fetch.requestPaused" or event.get("sessionId") != session:
                continue
            params = event["params"]
            body = await self.send("Fetch.getResponseBody", {"requestId": params["requestId"]}, session)
            raw = base64.b64decode(body["body"]) if body.get("base64Encoded") else body["body"].encode()
            await self.send(
                "Fetch.fulfillRequest",
                {
                    "requestId": params["requestId"],
                    "responseCode": params.get("responseStatusCode", 200),
                    "responseHeaders": [
                        h
                        for h in params.get("responseHeaders", [])
                        if h["name"].lower() not in ("content-length", "content-encoding")
                    ],
                    "body": base64.b64encode(keep_terminals(raw)).decode(),
                },
                session,
            )
