"""Flagger-compatible webhooks over HTTP (httpx): POST the payload, 2xx = pass."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.model import Webhook
from backends.base import Webhooks

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpWebhooks", "Webhooks"]


class HttpWebhooks:
    name = "webhooks"

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client

    async def call(self, hook: Webhook, payload: dict[str, Any]) -> tuple[bool, str]:
        import httpx  # on the first call, not at start-up: the room's first frame does not wait for it

        body = dict(payload, type=hook.type.value, metadata=dict(hook.metadata))
        client = self._client or httpx.AsyncClient()
        try:
            resp = await client.post(hook.url, json=body, timeout=hook.timeout)
        except httpx.TimeoutException:
            return False, f"webhook {hook.name} ({hook.url}) did not answer within {hook.timeout:g} s"
        except httpx.HTTPError as err:
            return False, f"webhook {hook.name} ({hook.url}) failed: {type(err).__name__}: {err}"
        finally:
            if self._client is None:
                await client.aclose()
        if 200 <= resp.status_code < 300:
            return True, f"webhook {hook.name} answered {resp.status_code}"
        text = resp.text.strip().splitlines()[0][:120] if resp.text.strip() else ""
        return False, f"webhook {hook.name} answered HTTP {resp.status_code}" + (f": {text}" if text else "")
