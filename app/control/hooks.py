"""Webhooks as the controllers use them: gates awaited in the target's own tick, the rest deferred."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.control.context import Context
from app.model import Check, Level, Webhook
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


async def rollback_requested(
    webhooks: Webhooks | None, hooks: Sequence[Webhook], payload: dict[str, Any]
) -> str | None:
    """Flagger's `rollback` hooks: a 2xx answer asks for a rollback."""
    if webhooks is None:
        return None
    for hook in hooks:
        ok, _ = await webhooks.call(hook, payload)
        if ok:
            return f"rollback webhook {hook.name} asked for a rollback"
    return None


async def rollout_checks(webhooks: Webhooks | None, hooks: Sequence[Webhook], payload: dict[str, Any]) -> list[Check]:
    """Flagger's `rollout` hooks: each one is a check of the analysis tick (2xx passes)."""
    out = []
    for hook in hooks:
        ok, detail = await webhooks.call(hook, payload) if webhooks else (True, "")
        out.append(
            Check(
                name=f"webhook {hook.name}",
                value=1.0 if ok else None,
                passed=ok,
                status="ok" if ok else "error",
                error="" if ok else detail,
                query=hook.url,
                range="2xx",
            )
        )
    return out


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
