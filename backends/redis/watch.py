"""Live changes of flags and experiments: keyspace notifications, or polling when Redis has none.

Keyspace mode subscribes to `__keyspace@<db>__:feature:*` and
`__keyspace@<db>__:experiment:*`; a change made by any client arrives within
milliseconds. Shiftroom never turns notifications on itself (that is the
server owner's call, and a read-only room must not change server config):
when `CONFIG GET notify-keyspace-events` shows them off (or CONFIG is not
allowed, as on many managed Redis services) it polls instead, every
`poll_interval` seconds, comparing a digest of every flag and experiment
(SCAN + MGET, a hash per value), so a change shows within about a second.

Polling is an I/O cadence, so it runs on real time (asyncio), not on the
injected domain clock. After a disconnection the watcher reconnects by itself
and reports what changed while it was away (from the digest), so nothing is
missed; a consumer may see a name twice and should simply reload it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from redis import exceptions as rx

from backends.base import BackendError
from backends.redis.conn import Connection
from backends.redis.scan import scan_values
from backends.redis.values import glob_escape, key_text, version_of

KINDS: dict[str, Literal["flag", "experiment"]] = {"feature": "flag", "experiment": "experiment"}


@dataclass(frozen=True)
class Change:
    """A flag or experiment that was created, changed or deleted: reload it."""

    kind: Literal["flag", "experiment"]
    name: str


def notifications_cover_keys(flags: str) -> bool:
    """Whether a `notify-keyspace-events` value publishes keyspace events for SET and DEL."""
    return "K" in flags and ("A" in flags or ("$" in flags and "g" in flags))


class Watcher:
    """`watch_changes` of a `RedisStore`: keyspace notifications, or polling a digest."""

    def __init__(self, conn: Connection, prefix: str) -> None:
        self.conn = conn
        self.prefix = prefix
        self.mode = "idle"  # "keyspace", "polling" or "disconnected" while watch_changes runs

    async def notify_mode(self) -> Literal["keyspace", "polling"]:
        """ "keyspace" when the server publishes keyspace events for string keys, else "polling"."""
        try:
            config = await self.conn.client.config_get("notify-keyspace-events")
        except rx.ResponseError:
            return "polling"  # CONFIG forbidden: ACL, renamed command, managed Redis
        except (rx.RedisError, OSError) as exc:
            self.conn.fail(exc, "reading notify-keyspace-events")
        value = next(iter(config.values()), b"") if config else b""
        value = value if value is not None else b""
        return "keyspace" if notifications_cover_keys(key_text(value)) else "polling"

    async def digest(self) -> dict[tuple[str, str], str]:
        """(kind, name) -> version of every flag and experiment: compared to spot changes."""
        out: dict[tuple[str, str], str] = {}
        for prefix, kind in KINDS.items():
            for name, raw, rtype in await scan_values(self.conn, f"{self.prefix}{prefix}:", "watching for changes"):
                out[(kind, name)] = version_of(raw) if raw is not None else f"type:{rtype}"
        return out

    def _channel_change(self, channel: bytes | str) -> Change | None:
        key = key_text(channel).split("__:", 1)[-1]
        if not key.startswith(self.prefix):
            return None
        key = key[len(self.prefix) :]
        for prefix, kind in KINDS.items():
            if key.startswith(prefix + ":"):
                return Change(kind, key[len(prefix) + 1 :])
        return None

    async def watch_changes(self, *, poll_interval: float = 1.0, recheck: float = 30.0) -> AsyncIterator[Change]:
        """Yield a `Change` for every flag or experiment written by anyone, forever.

        Sets `self.mode` to "keyspace", "polling" or "disconnected"
        (while Redis is unreachable; it retries every `poll_interval`). The
        notification setting is re-read every `recheck` seconds, so turning
        notifications on or off on the server switches modes by itself.
        """
        state: dict[str, dict[tuple[str, str], str]] = {}
        while True:
            try:
                async for change in self._session(state, poll_interval, recheck):
                    yield change
            except (BackendError, rx.RedisError, OSError):
                self.mode = "disconnected"
                await asyncio.sleep(poll_interval)

    async def _session(
        self, state: dict[str, dict[tuple[str, str], str]], poll_interval: float, recheck: float
    ) -> AsyncIterator[Change]:
        """One connected stretch: subscribe (or poll), report what changed while away, follow until the mode changes."""
        patterns = [f"__keyspace@{self.conn.db}__:{glob_escape(self.prefix + p)}:*" for p in KINDS]
        mode = await self.notify_mode()
        ps = self.conn.client.pubsub() if mode == "keyspace" else None
        try:
            if ps is not None:
                async with self.conn.io("subscribing to keyspace notifications"):
                    await ps.psubscribe(*patterns)
            current = await self.digest()  # after subscribing: nothing falls in between
            for change in _diff(state.get("digest", current), current):
                yield change
            state["digest"] = current
            self.mode = mode
            next_check = time.monotonic() + recheck
            while time.monotonic() < next_check or await self.notify_mode() == mode:
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + recheck
                for change in await self._next(ps, state, poll_interval):
                    yield change
        finally:
            if ps is not None:
                await _close(ps)

    async def _next(self, ps: Any, state: dict[str, dict[tuple[str, str], str]], poll_interval: float) -> list[Change]:
        if ps is not None:
            async with self.conn.io("waiting for keyspace notifications"):
                message = await ps.get_message(ignore_subscribe_messages=True, timeout=poll_interval)
            change = self._channel_change(message["channel"]) if message else None
            return [change] if change is not None else []
        await asyncio.sleep(poll_interval)
        current = await self.digest()
        changes = _diff(state["digest"], current)
        state["digest"] = current
        return changes


async def _close(ps: Any) -> None:
    try:
        await ps.aclose()
    except (rx.RedisError, OSError):
        pass  # the connection is gone already: nothing left to close


def _diff(before: dict[tuple[str, str], str], after: dict[tuple[str, str], str]) -> list[Change]:
    keys = sorted(set(before) | set(after))
    kinds: dict[str, Literal["flag", "experiment"]] = {"flag": "flag", "experiment": "experiment"}
    return [Change(kinds[kind], name) for kind, name in keys if before.get((kind, name)) != after.get((kind, name))]
