"""Notifiers: a Slack incoming webhook and a generic JSON webhook, via httpx.

The engine notifies on the decisions an on-call engineer must hear about
(rollbacks, switch-backs, undos, failed releases). A notifier that fails never
stops a rollback; it raises `Unavailable` with one sentence, which the engine
shows as the notifier's health.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app.model import AuditEvent
from backends.base import Unavailable

if TYPE_CHECKING:
    import httpx


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def slack_text(e: AuditEvent) -> str:
    """The seed's `AUTOMATED ROLLBACK EXECUTED` message, with the why."""
    lines = [f":rotating_light: *{e.action}* on `{e.target}` by {e.actor} at {_when(e.t)}", e.reason]
    if e.before or e.after:
        lines.append(f"before: {e.before}  after: {e.after}")
    return "\n".join(lines)


class HttpNotifier:
    name = "notify"

    def __init__(
        self, url: str, *, slack: bool = False, timeout: float = 5.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.url, self.slack, self.timeout = url, slack, timeout
        self._client = client

    async def notify(self, event: AuditEvent) -> None:
        import httpx  # on the first notification, not while the room starts

        body = {"text": slack_text(event)} if self.slack else event.model_dump(mode="json")
        client = self._client or httpx.AsyncClient()
        try:
            resp = await client.post(self.url, json=body, timeout=self.timeout)
        except httpx.HTTPError as err:
            raise Unavailable(
                self.name,
                f"the notification webhook {self.url} failed ({type(err).__name__}); check notify.* in shiftroom.yaml.",
            ) from None
        finally:
            if self._client is None:
                await client.aclose()
        if resp.status_code >= 300:
            raise Unavailable(self.name, f"the notification webhook {self.url} answered HTTP {resp.status_code}.")


class FanOut:
    """Several notifiers as one; every one is tried, the first failure is raised after."""

    name = "notify"

    def __init__(self, notifiers: list[HttpNotifier]) -> None:
        self.notifiers = notifiers

    async def notify(self, event: AuditEvent) -> None:
        first: Unavailable | None = None
        for n in self.notifiers:
            try:
                await n.notify(event)
            except Unavailable as err:
                first = first or err
        if first is not None:
            raise first
