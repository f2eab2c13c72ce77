"""The connection every Redis object uses: the client and its error sentences.

- One `redis.asyncio` client per backend object, built from the URL as
  redis-py parses it (`redis://`, `rediss://` for TLS, `user:password@`,
  `/db`, `?ssl_cert_reqs=...`). Its pool reconnects on the next command after
  Redis comes back, so a backend object survives a Redis restart.
- Every failure becomes a `BackendError` whose text is one sentence naming
  Redis, the URL without its password and what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis import exceptions as rx
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff

from backends.base import BackendError, Invalid, ReadOnly, Unavailable
from backends.redis.values import BACKEND

T = TypeVar("T")
RETRY: Any = object()  # what a transaction body's WatchError turns into: run it again


def redact(url: str) -> str:
    """The URL with its password removed (`redis://user@host:6379/0`)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable Redis URL>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host += f":{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


_CONNECT_ERROR = re.compile(r"Error (\d+) connecting to \S+?\.")


def _detail(exc: BaseException) -> str:
    """The reason inside a redis-py error, as a short phrase without sentence breaks."""
    text = " ".join(str(exc).split())
    m = _CONNECT_ERROR.match(text)
    if m:
        try:
            return os.strerror(int(m.group(1))).lower()
        except ValueError:
            pass
    text = text.split(". ")[0].rstrip(".")
    return text[:160] or type(exc).__name__


class Connection:
    """A connection to one Redis and the error handling every Redis object uses; owned, not inherited."""

    name = BACKEND

    def __init__(
        self, url: str, *, read_only: bool = False, connect_timeout: float = 3.0, command_timeout: float = 10.0
    ) -> None:
        self.url = url
        self.read_only = read_only
        self.safe_url = redact(url)
        try:
            # One quick retry: after a restart, the first command on a pooled
            # connection fails and the retry reconnects. No long backoff: an
            # on-call screen must learn that Redis is down within seconds.
            self.client: aioredis.Redis = aioredis.Redis.from_url(
                url,
                socket_connect_timeout=connect_timeout,
                socket_timeout=command_timeout,
                retry=Retry(ConstantBackoff(0.05), 1),
                health_check_interval=15,
                # Key names are read with surrogateescape (any bytes after `feature:` are a name the
                # seed serves); writing them back the same way addresses exactly the stored key.
                encoding_errors="surrogateescape",
            )
        except ValueError as exc:
            raise Invalid(
                BACKEND,
                f"The Redis URL {self.safe_url} is not valid ({exc}); use redis://host:port/db or rediss:// for TLS.",
            ) from None
        self.db = int(self.client.connection_pool.connection_kwargs.get("db", 0) or 0)

    # ------------------------------------------------------------ errors

    def fail(self, exc: BaseException, doing: str) -> NoReturn:
        where = f"Redis at {self.safe_url}"
        detail = _detail(exc)
        if isinstance(exc, rx.AuthenticationError) or "NOAUTH" in detail or "WRONGPASS" in detail:
            raise Unavailable(
                BACKEND, f"{where} refused the credentials while {doing}; check the user and password in the URL."
            ) from None
        if isinstance(exc, rx.BusyLoadingError):
            raise Unavailable(
                BACKEND,
                f"{where} is still loading its data set while {doing}; wait a moment, Shiftroom retries by itself.",
            ) from None
        if isinstance(exc, (rx.ConnectionError, rx.TimeoutError, OSError)):
            raise Unavailable(
                BACKEND,
                f"{where} cannot be reached while {doing} ({detail}); check that it is running and the URL is right, "
                "Shiftroom reconnects by itself.",
            ) from None
        if isinstance(exc, rx.ReadOnlyError):
            raise Unavailable(
                BACKEND, f"{where} is a read-only replica, so {doing} failed; point Shiftroom at the primary."
            ) from None
        if isinstance(exc, rx.NoPermissionError):
            raise Unavailable(
                BACKEND,
                f"{where} denied a command while {doing} ({detail}); grant the Redis user that command or use "
                "read-only mode.",
            ) from None
        if isinstance(exc, rx.ResponseError):
            raise Invalid(
                BACKEND,
                f"{where} rejected a command while {doing} ({detail}); the key may hold another type than "
                "Shiftroom expects.",
            ) from None
        raise Unavailable(BACKEND, f"{where} failed while {doing} ({detail}); try again.") from None

    @asynccontextmanager
    async def io(self, doing: str) -> AsyncIterator[None]:
        """Map every Redis failure inside the block to one `BackendError` sentence."""
        try:
            yield
        except (BackendError, rx.WatchError):
            raise
        except (rx.RedisError, OSError) as exc:
            self.fail(exc, doing)

    def writable(self, what: str) -> None:
        """Raise `ReadOnly` before any command is sent."""
        if self.read_only:
            raise ReadOnly(BACKEND, f"This Redis connection is read-only, so {what} was not changed.")

    async def ping(self) -> None:
        async with self.io("checking the connection"):
            await self.client.ping()

    async def aclose(self) -> None:
        await self.client.aclose()

    async def transaction(
        self, doing: str, body: Callable[[Any], Awaitable[T]], exhausted: BackendError, attempts: int = 5
    ) -> T:
        """Run `body(pipe)` on a transactional pipeline until no WATCHed key changed under it.

        `body` WATCHes what it reads, queues its commands after `pipe.multi()` and
        executes; a WatchError (someone wrote in between) runs it again, up to
        `attempts` times, then raises `exhausted`.
        """
        for _ in range(attempts):
            async with self.io(doing):
                result = await self._attempt(body)
            if result is not RETRY:
                return result  # type: ignore[no-any-return]
        raise exhausted

    async def _attempt(self, body: Callable[[Any], Awaitable[T]]) -> Any:
        async with self.client.pipeline(transaction=True) as pipe:
            try:
                return await body(pipe)
            except rx.WatchError:
                return RETRY
