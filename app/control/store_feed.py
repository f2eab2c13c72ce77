"""Flags and experiments changed elsewhere (another room, the seed's service) show within a second."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from backends.base import BackendError, ChangeFeed

if TYPE_CHECKING:
    from app.control.engine import Engine


def watch_store(engine: Engine) -> Coroutine[Any, Any, None] | None:
    """The coroutine that follows the store's change feed, or None when the store has none."""
    store = engine.store
    if not isinstance(store, ChangeFeed):
        return None
    return _follow(engine, store)


async def _follow(engine: Engine, feed: ChangeFeed) -> None:
    while True:
        try:
            async for _change in feed.watch_changes():
                await engine.refresh_store()
        except BackendError as err:
            engine.health.mark("store", err)
        except Exception as err:  # the feed must never take the room down
            engine.internal_error(err)
        await engine.clock.sleep(engine.series_every)
