"""Canary bootstrap as an engine command: Flagger's layout around a target whose objects are missing.

The layout's parts come from a cluster that is `CanaryBootstrap` (Kubernetes: `<d>`, `<d>-primary`,
Services `<s>-primary` / `<s>-canary`, the route); which are missing is read from the object cache, so
the room names them ("needs bootstrap: …") without a request. A target missing a part its controller
reads (`<d>-primary`, the route) is not driven until it is bootstrapped. `BootstrapCanary` is previewed
from the cluster's plan (kept while the cache shows the same objects, so an open confirmation costs
nothing), executed with a fresh plan that must still match the confirmed preview, refused read-only,
and audited (the live room's audit log also makes it an Event on the target's deployment). It creates
only what is missing and never replaces or deletes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app.clock import Clock
from app.control.cache import ObjectCache
from app.control.commands import BootstrapCanary, Change, Preview, Result
from app.control.versions import encode, stale_message
from app.model import AuditEvent, Level, Rollout, Strategy, Target
from backends.base import BackendError, BootstrapPlan, CanaryBootstrap, Cluster, Kind, LayoutPart

MANAGED = "app.kubernetes.io/managed-by: shiftroom"
Seen = tuple[tuple[str, str, str], ...]  # (kind, name, resource version or "") of each part: what the cache shows


class BootstrapDesk:
    def __init__(
        self,
        cluster: Cluster,
        cache: ObjectCache,
        targets: Iterable[Target],
        *,
        clock: Clock,
        record: Callable[[AuditEvent], None],
        read_only: bool,
    ) -> None:
        self.boot: CanaryBootstrap | None = cluster if isinstance(cluster, CanaryBootstrap) else None  # capability
        self.cache = cache
        self.clock = clock
        self.record = record
        self.read_only = read_only
        self.targets = {t.key: t for t in targets if t.strategy is Strategy.CANARY}
        self._layouts: dict[str, list[LayoutPart]] = {}
        self._previews: dict[str, tuple[Seen, Preview, BootstrapPlan]] = {}

    # ------------------------------------------------------------ what is missing (from the cache)
    def _layout(self, key: str) -> list[LayoutPart]:
        if self.boot is None or key not in self.targets:
            return []
        if key not in self._layouts:
            self._layouts[key] = self.boot.canary_layout(self.targets[key])
        return self._layouts[key]

    def missing(self, key: str) -> list[LayoutPart]:
        """The parts of a canary's layout the cluster lacks, once its namespace is listed and its deployment
        exists (without that there is nothing to bootstrap around); [] when nothing it needs is missing."""
        parts = self._layout(key)
        if not parts or not self.cache.ever_synced(parts[0].namespace):
            return []
        source, rest = parts[0], parts[1:]
        if self.cache.get(source.kind, source.namespace, source.name) is None:
            return []
        gone = [p for p in rest if self.cache.get(p.kind, p.namespace, p.name) is None]
        return gone if any(p.required for p in gone) else []

    def blocked(self, key: str) -> bool:
        """Not driven until bootstrapped: its controller would read an object that is not there."""
        return bool(self.missing(key))

    def kinds(self) -> dict[str, tuple[Kind, ...]]:
        """target key → the kinds a bootstrap would create, for every target that needs one."""
        return {key: tuple(p.kind for p in gone) for key in self.targets if (gone := self.missing(key))}

    def mark(self, rows: Iterable[Rollout]) -> list[Rollout]:
        out = []
        for row in rows:
            gone = self.missing(row.key) if row.key in self.targets else []
            if gone:
                labels = tuple(p.label for p in gone)
                row = row.model_copy(
                    update={"needs_bootstrap": labels, "message": f"needs bootstrap: {', '.join(labels)}"}
                )
            out.append(row)
        return out

    # ------------------------------------------------------------ the command
    def _seen(self, key: str) -> Seen:
        out = []
        for p in self._layout(key):
            obj = self.cache.get(p.kind, p.namespace, p.name)
            out.append((p.kind, p.name, obj.resource_version if obj is not None else ""))
        return tuple(out)

    def _refusal(self, cmd: BootstrapCanary) -> str:
        if self.boot is None:
            return f"{cmd.target}: this cluster backend does not bootstrap canaries."
        if cmd.target not in self.targets:
            return f"{cmd.target} is not a canary target of this room: nothing to bootstrap."
        if self.read_only:
            return f"{cmd.target}: this room is read-only, the backends refuse every write"
        return ""

    async def preview(self, cmd: BootstrapCanary, fresh: bool = False) -> Preview:
        return (await self._preview(cmd, fresh))[0]

    async def _preview(self, cmd: BootstrapCanary, fresh: bool) -> tuple[Preview, BootstrapPlan | None]:
        title = f"Bootstrap {cmd.target}"
        refused = self._refusal(cmd)
        if refused:
            return Preview(cmd, title, (refused,), possible=False), None
        seen = self._seen(cmd.target)
        kept = self._previews.get(cmd.target)
        if kept is not None and kept[0] == seen and not fresh:
            return kept[1], kept[2]
        assert self.boot is not None
        target = self.targets[cmd.target]
        try:
            plan = await self.boot.plan_bootstrap(target)
        except BackendError as err:
            return Preview(cmd, title, (f"{cmd.target}: {err.sentence}",), possible=False), None
        preview = _preview(cmd, target, plan)
        self._previews[cmd.target] = (seen, preview, plan)
        return preview, plan

    async def execute(self, cmd: BootstrapCanary, confirmed: Preview | None, actor: str) -> Result:
        key = cmd.target
        fresh, plan = await self._preview(cmd, fresh=True)  # the cluster as it is now, not as it was cached
        if confirmed is not None and confirmed.version != fresh.version:
            return Result(False, stale_message(key, confirmed.version, fresh.version), key, stale=True, preview=fresh)
        if not fresh.possible or plan is None:
            return Result(False, fresh.lines[0] if fresh.lines else f"{key}: nothing to bootstrap.", key, preview=fresh)
        assert self.boot is not None
        try:
            done = await self.boot.apply_bootstrap(plan)
        except BackendError as err:
            self._audit(key, actor, "bootstrap-failed", err.sentence, plan, Level.ERROR)
            return Result(False, f"{key}: bootstrap stopped: {err.sentence}", key)
        self._previews.pop(key, None)
        reason = cmd.reason or f"bootstrapped by {actor}"
        self._audit(key, actor, "bootstrap", f"{reason}: {'; '.join(done)}", plan, Level.INFO)
        return Result(True, f"{key} bootstrapped: {'; '.join(done)}.", key, details={"done": tuple(done)})

    def _audit(self, key: str, actor: str, action: str, reason: str, plan: BootstrapPlan, level: Level) -> None:
        created = [f"{s.kind} {s.namespace}/{s.name}" for s in plan.steps if s.verb == "create"]
        scaled = [f"{s.kind} {s.namespace}/{s.name} → 0" for s in plan.steps if s.verb == "scale"]
        self.record(
            AuditEvent(
                t=self.clock.now(),
                actor=actor,
                target=key,
                action=action,
                reason=reason,
                before={"missing": ", ".join(created)},
                after={"created": ", ".join(created), "scaled": ", ".join(scaled)},
                level=level,
            )
        )


def _preview(cmd: BootstrapCanary, target: Target, plan: BootstrapPlan) -> Preview:
    title = f"Bootstrap {cmd.target}"
    objects = [f"{s.verb} {s.kind} {s.namespace}/{s.name}" for s in plan.steps]
    version = encode({"bootstrap": "; ".join(objects), "deployment version": plan.source_version}, driver="")
    if not plan.steps:
        return Preview(
            cmd, title, (f"{cmd.target}: its layout is complete; nothing to bootstrap.",), version, possible=False
        )
    lines = (
        *(s.line for s in plan.steps),
        f"created objects are labelled {MANAGED}; nothing is replaced or deleted",
    )
    changes = tuple(
        Change(f"{s.kind} {s.namespace}/{s.name}", "missing", "created")
        if s.verb == "create"
        else Change(f"{s.kind} {s.namespace}/{s.name} replicas", "", str(s.replicas))
        for s in plan.steps
    )
    scales = any(s.verb == "scale" for s in plan.steps)
    return Preview(
        cmd,
        title,
        lines,
        version,
        destructive=scales,  # the target deployment goes to 0 replicas: the primary serves
        confirm_name=target.name if target.production and scales else None,
        changes=changes,
    )
