"""Webhooks as the controllers use them: gates awaited in the target's own tick, the rest deferred."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.control.context import Context
from app.model import Level, Webhook
from backends.base import Webhooks


async def run_hooks(webhooks: Webhooks | None, hooks: Sequence[Webhook], payload: dict[str, Any]) -> tuple[bool, str]:
    """Run every webhook of one gate in order; (all passed, the first failure's sentence)."""
    if not hooks or webhooks is None:
        return True, ""
    for hook in hooks:
        ok, detail = await webhooks.call(hook, payload)
        if not ok:
            return False, detail
    return True, ""


def post_rollout(ctx: Context, key: str, hooks: Sequence[Webhook], payload: dict[str, Any]) -> None:
    """Flagger's `post-rollout` hooks: informational, so they run off the pass, in order per hook URL;
    a failure is recorded, nothing more."""
    webhooks = ctx.webhooks
    if webhooks is None:
        return
    for hook in hooks:

        async def call(hook: Webhook = hook) -> None:
            ok, detail = await webhooks.call(hook, dict(payload))
            if not ok:
                await ctx.decide(key, "post-rollout", detail, level=Level.WARN)

        ctx.defer(f"webhook {hook.url}", call)
