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
from typing import TYPE_CHECKING, Literal

from redis import exceptions as rx

from backends.base import BackendError
from backends.redis_conn import glob_escape, key_text, version_of

if TYPE_CHECKING:
    from backends.redis_store import RedisStore

KINDS: dict[str, Literal["flag", "experiment"]] = {"feature": "flag", "experiment": "experiment"}


@dataclass(frozen=True)
class Change:
    """A flag or experiment that was created, changed or deleted: reload it."""

    kind: Literal["flag", "experiment"]
    name: str


def notifications_cover_keys(flags: str) -> bool:
    """Whether a `notify-keyspace-events` value publishes keyspace events for SET and DEL."""
    return "K" in flags and ("A" in flags or ("$" in flags and "g" in flags))


class WatchMixin:
    """`watch_changes` for `RedisStore`."""

    async def notify_mode(self: "RedisStore") -> Literal["keyspace", "polling"]:
        """"keyspace" when the server publishes keyspace events for string keys, else "polling"."""
        try:
            config = await self.client.config_get("notify-keyspace-events")
        except rx.ResponseError:
            return "polling"  # CONFIG forbidden: ACL, renamed command, managed Redis
        except (rx.RedisError, OSError) as exc:
            self._fail(exc, "reading notify-keyspace-events")
        value = next(iter(config.values()), b"") if config else b""
        return "keyspace" if notifications_cover_keys(key_text(value)) else "polling"

    async def digest(self: "RedisStore") -> dict[tuple[str, str], str]:
        """(kind, name) -> version of every flag and experiment: compared to spot changes."""
        out: dict[tuple[str, str], str] = {}
        for prefix, kind in KINDS.items():
            for name, raw, rtype in await self._scan_values(prefix, "watching for changes"):
                out[(kind, name)] = version_of(raw) if raw is not None else f"type:{rtype}"
        return out

    def _channel_change(self: "RedisStore", channel: bytes | str) -> Change | None:
        key = key_text(channel).split("__:", 1)[-1]
        if not key.startswith(self.prefix):
            return None
        key = key[len(self.prefix):]
        for prefix, kind in KINDS.items():
            if key.startswith(prefix + ":"):
                return Change(kind, key[len(prefix) + 1 :])
        return None

    async def watch_changes(
        self: "RedisStore", *, poll_interval: float = 1.0, recheck: float = 30.0
    ) -> AsyncIterator[Change]:
        """Yield a `Change` for every flag or experiment written by anyone, forever.

        Sets `self.watch_mode` to "keyspace", "polling" or "disconnected"
        (while Redis is unreachable; it retries every `poll_interval`). The
        notification setting is re-read every `recheck` seconds, so turning
        notifications on or off on the server switches modes by itself.
        """
        previous: dict[tuple[str, str], str] | None = None
        patterns = [f"__keyspace@{self.db}__:{glob_escape(self.prefix + p)}:*" for p in KINDS]
        while True:
            ps = None
            try:
                mode = await self.notify_mode()
                if mode == "keyspace":
                    ps = self.client.pubsub()
                    async with self.io("subscribing to keyspace notifications"):
                        await ps.psubscribe(*patterns)
                current = await self.digest()  # after subscribing: nothing falls in between
                if previous is not None:
                    for change in _diff(previous, current):
                        yield change
                previous = current
                self.watch_mode = mode
                next_check = time.monotonic() + recheck
                while True:
                    if time.monotonic() >= next_check:
                        if await self.notify_mode() != mode:
                            break
                        next_check = time.monotonic() + recheck
                    if ps is not None:
                        async with self.io("waiting for keyspace notifications"):
                            message = await ps.get_message(ignore_subscribe_messages=True, timeout=poll_interval)
                        change = self._channel_change(message["channel"]) if message else None
                        if change is not None:
                            yield change
                    else:
                        await asyncio.sleep(poll_interval)
                        current = await self.digest()
                        changes = _diff(previous, current)
                        previous = current
                        for change in changes:
                            yield change
            except (BackendError, rx.RedisError, OSError):
                self.watch_mode = "disconnected"
                await asyncio.sleep(poll_interval)
            finally:
                if ps is not None:
                    try:
                        await ps.aclose()
                    except (rx.RedisError, OSError):
                        pass


def _diff(before: dict[tuple[str, str], str], after: dict[tuple[str, str], str]) -> list[Change]:
    keys = sorted(set(before) | set(after))
    return [Change(kind, name) for kind, name in keys if before.get((kind, name)) != after.get((kind, name))]
