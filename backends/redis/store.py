"""`Store` on Redis, in the seed's layout: `feature:<name>` and `experiment:<id>` JSON strings.

Reads never use `KEYS`: lists come from `SCAN` + `MGET`, and every key is
listed, valid or not (a value that is not a flag, or a key of another Redis
type, is listed with its `error`). Writes are optimistic: `WATCH` the key,
compare its version (a hash of the stored bytes), `MULTI`/`EXEC`; another
writer in between makes `EXEC` fail and the loser gets `Conflict` naming what
changed. A value that is not a JSON object is never overwritten unless the
writer names its exact version.

The store owns its parts: the connection, the audit stream (so a value and
its audit entry go in one MULTI: `put_*_audited`), the tracker (assignments,
conversions, counters), the change watcher and the counter rebuilder.
Shiftroom refuses to create flags with odd names, but any existing key can
be rewritten by its exact version, whatever its name.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as rx
from redis.asyncio.client import Pipeline

from app.audit import describe_changes
from app.clock import Clock, RealClock
from app.experiments import experiment_errors
from app.flag_json import validate_flag_name
from app.model import AuditEvent, Experiment, Flag
from backends.base import Conflict, Invalid
from backends.redis.audit import DEFAULT_STREAM, RedisAudit
from backends.redis.conn import Connection
from backends.redis.counters import VariantResult
from backends.redis.importer import import_experiments
from backends.redis.parsing import experiment_from, flag_from
from backends.redis.rebuild import Progress, Rebuilder, RebuildReport
from backends.redis.scan import Row, scan_values
from backends.redis.tracking import Tracker
from backends.redis.values import ABSENT, BACKEND, as_bytes, dump_json, key_text, load_object, version_of
from backends.redis.watch import Change, Watcher

#: Experiments carry the days since their first assignment where the model has the field.
ATTEMPTS = 5

Queue = Callable[[Pipeline], object]
Decide = Callable[[bytes | None], Queue | None]


def _checked_id(kind: str, value: str) -> None:
    """New flag names and experiment ids follow the same rule (see `validate_flag_name`)."""
    try:
        validate_flag_name(value)
    except ValueError as exc:
        text = str(exc)
        if kind == "experiment":
            text = text.replace("A flag name", "An experiment id").replace("feature:", "experiment:")
        raise Invalid(BACKEND, text) from None


class RedisStore:
    """Flags, experiments, tracking, audit and live changes on one Redis database."""

    name = BACKEND

    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        clock: Clock | None = None,
        key_prefix: str = "",
        audit_stream: str = DEFAULT_STREAM,
        audit_maxlen: int = 10_000,
        audit_key: bytes | None = None,
    ) -> None:
        self.conn = Connection(url, read_only=read_only)
        self.read_only = read_only
        self.clock: Clock = clock or RealClock()
        self.prefix = key_prefix
        self.audit = RedisAudit(
            stream=audit_stream, maxlen=audit_maxlen, read_only=read_only, key=audit_key, conn=self.conn
        )
        self.tracker = Tracker(self.conn, key_prefix, self.clock, self.experiment_key)
        self.watcher = Watcher(self.conn, key_prefix)
        self.rebuilder = Rebuilder(self.conn, key_prefix)
        self._seen: OrderedDict[tuple[bytes, str], dict[str, Any]] = OrderedDict()

    # ------------------------------------------------------------ connection
    @property
    def client(self) -> aioredis.Redis:
        return self.conn.client

    @property
    def url(self) -> str:
        return self.conn.url

    @property
    def safe_url(self) -> str:
        return self.conn.safe_url

    @property
    def audit_stream(self) -> str:
        return self.audit.stream

    async def ping(self) -> None:
        await self.conn.ping()

    async def aclose(self) -> None:
        await self.conn.aclose()

    # ------------------------------------------------------------ keys
    def flag_key(self, name: str) -> bytes:
        return f"{self.prefix}feature:".encode() + name.encode("utf-8", "surrogateescape")

    def experiment_key(self, experiment_id: str) -> bytes:
        return f"{self.prefix}experiment:".encode() + experiment_id.encode("utf-8", "surrogateescape")

    def _remember(self, key: bytes, version: str, value: dict[str, Any] | None) -> None:
        """What a version held, so a conflict can say what changed since."""
        if value is None:
            return
        self._seen[(key, version)] = value
        self._seen.move_to_end((key, version))
        while len(self._seen) > 512:
            self._seen.popitem(last=False)

    async def _rows(self, kind: str, doing: str) -> list[Row]:
        return await scan_values(self.conn, f"{self.prefix}{kind}:", doing)

    # ------------------------------------------------------------ transactions
    async def _transact(self, key: bytes, decide: Decide, doing: str, event: AuditEvent | None = None) -> bytes | None:
        """WATCH `key`, hand its value to `decide`, run the commands it queues in MULTI/EXEC.

        `decide` raises to refuse (Conflict, Invalid...) or returns None to do
        nothing. With `event`, its audit entry is XADDed in the same MULTI:
        both are written or neither (a user without XADD permission gets
        neither). A WatchError re-reads and decides again.
        """

        async def body(pipe: Pipeline) -> bytes | None:
            await pipe.watch(key)
            raw = as_bytes(await pipe.get(key))
            queue = decide(raw)
            if queue is None:
                return raw
            fields = await self.audit.fields_for(pipe, event) if event is not None else None
            pipe.multi()  # type: ignore[no-untyped-call]
            queue(pipe)
            if fields is not None:
                self.audit.queue(pipe, fields)
            await pipe.execute()
            return raw

        exhausted = Conflict(
            BACKEND, f"{key_text(key)} kept changing while Shiftroom tried to write it; reload it and try again."
        )
        return await self.conn.transaction(doing, body, exhausted, ATTEMPTS)

    def _conflict(self, what: str, key: bytes, expected: str | None, raw: bytes | None) -> None:
        """Raise Conflict when `raw` is not the version the writer read."""
        current = version_of(raw)
        if expected is None or expected == current:
            return
        if raw is None:
            raise Conflict(
                BACKEND,
                f"{what} was deleted by someone else since you read it; "
                "reload and create it again if it is still needed.",
            )
        now = load_object(raw)
        if expected == ABSENT:
            change = describe_changes({}, now) if now is not None else "not a JSON object"
            raise Conflict(
                BACKEND,
                f"{what} was created by someone else meanwhile ({change}); reload it and apply your change on top.",
            )
        before = self._seen.get((key, expected))
        if before is not None and now is not None:
            change = describe_changes(before, now) or "same fields, new formatting"
        elif now is not None:
            change = "now " + json.dumps(now, ensure_ascii=False, separators=(",", ":"))[:120]
        else:
            change = "it no longer holds a JSON object Shiftroom can read"
        raise Conflict(
            BACKEND,
            f"{what} was changed by someone else since you read it ({change}); reload it and apply your change again.",
        )

    def _guard(self, what: str, kind: str, name: str, expected: str | None, raw: bytes | None) -> None:
        """Never create an odd name, never overwrite an unreadable value unless its exact version was named."""
        if raw is None:
            _checked_id(kind, name)
        elif expected != version_of(raw) and load_object(raw) is None:
            raise Invalid(
                BACKEND,
                f"{what} holds a value that is not a JSON object Shiftroom can read; it only "
                "replaces it when given that value's version.",
            )

    async def _get_raw(self, key: bytes, what: str) -> tuple[dict[str, Any] | None, str]:
        raw, version = await self._get_bytes(key, what)
        if raw is None:
            return None, ABSENT
        value = load_object(raw)
        if value is None:
            raise Invalid(
                BACKEND,
                f"{what} in Redis is not a JSON object Shiftroom can read; it is shown as invalid and left untouched.",
            )
        self._remember(key, version, value)
        return value, version

    async def _get_bytes(self, key: bytes, what: str) -> tuple[bytes | None, str]:
        async with self.conn.io(f"reading {what}"):
            try:
                raw = as_bytes(await self.client.get(key))
            except rx.ResponseError:  # WRONGTYPE: a hash or a list under the name
                raise Invalid(
                    BACKEND, f"{what} is not stored as a string in Redis, so Shiftroom leaves it untouched."
                ) from None
        return raw, version_of(raw)

    async def _put(
        self, kind: str, name: str, key: bytes, value: bytes, expected: str | None, event: AuditEvent | None
    ) -> str:
        what = f"{kind.capitalize()} {name}"

        def decide(raw: bytes | None) -> Queue:
            self._conflict(what, key, expected, raw)
            self._guard(what, kind, name, expected, raw)
            return lambda pipe: pipe.set(key, value)

        self.conn.writable(f"{kind} {name}")
        await self._transact(key, decide, f"writing {kind} {name}", event)
        version = version_of(value)
        self._remember(key, version, load_object(value))
        return version

    # ------------------------------------------------------------ flags
    async def list_flags(self) -> list[Flag]:
        return [flag_from(name, raw, rtype) for name, raw, rtype in await self._rows("feature", "listing flags")]

    async def get_flag_raw(self, name: str) -> tuple[dict[str, Any] | None, str]:
        """The stored JSON object and its version; (None, "0") when absent; Invalid when not a JSON object."""
        return await self._get_raw(self.flag_key(name), f"flag {name}")

    async def get_flag_bytes(self, name: str) -> tuple[bytes | None, str]:
        """The stored bytes as they are (to edit them byte-preserving, or repair them) and their version."""
        return await self._get_bytes(self.flag_key(name), f"flag {name}")

    async def put_flag_raw(self, name: str, config: Mapping[str, Any], expected_version: str | None) -> str:
        """Store `config` as the seed's service would; `expected_version` "0" = create only, None = blind write."""
        value = dump_json(config, f"Flag {name}", compact=True)
        return await self._put("flag", name, self.flag_key(name), value, expected_version, None)

    async def put_flag_audited(
        self, name: str, config: Mapping[str, Any], expected_version: str | None, event: AuditEvent
    ) -> str:
        value = dump_json(config, f"Flag {name}", compact=True)
        return await self._put("flag", name, self.flag_key(name), value, expected_version, event)

    async def put_flag_bytes(
        self, name: str, value: bytes, expected_version: str | None, event: AuditEvent | None = None
    ) -> str:
        """Store these exact bytes (a byte-preserving edit); with `event`, its audit entry in the same MULTI."""
        return await self._put("flag", name, self.flag_key(name), value, expected_version, event)

    async def delete_flag(self, name: str, expected_version: str | None) -> None:
        self.conn.writable(f"flag {name}")
        key, what = self.flag_key(name), f"Flag {name}"

        def decide(raw: bytes | None) -> Queue | None:
            self._conflict(what, key, expected_version, raw)
            if raw is not None and expected_version != version_of(raw) and load_object(raw) is None:
                raise Invalid(BACKEND, f"{what} is not a JSON object; name its version to delete it.")
            return None if raw is None else (lambda pipe: pipe.delete(key))

        await self._transact(key, decide, f"deleting flag {name}")

    # ------------------------------------------------------------ experiments
    async def list_experiments(self) -> list[Experiment]:
        """Every `experiment:<id>` with (users, converters) per variant from the counters,
        and the days since its first assignment (`elapsed_days`)."""
        rows = await self._rows("experiment", "listing experiments")
        results, firsts = await self.tracker.results([name for name, _, _ in rows], "reading experiment counters")
        now = self.clock.now()
        out = []
        for name, raw, rtype in rows:
            config = load_object(raw) if raw is not None else None
            metrics = config.get("metrics") if config else None
            primary = metrics.get("primary") if isinstance(metrics, dict) else None
            stats = {
                v: (r.users, r.converters_for(primary if isinstance(primary, str) else None))
                for v, r in results.get(name, {}).items()
            }
            experiment = experiment_from(name, raw, rtype, stats)
            if name in firsts and not experiment.error:
                experiment = experiment.model_copy(update={"elapsed_days": max(0.0, (now - firsts[name]) / 86400)})
            out.append(experiment)
        return out

    async def get_experiment_raw(self, experiment_id: str) -> tuple[dict[str, Any] | None, str]:
        return await self._get_raw(self.experiment_key(experiment_id), f"experiment {experiment_id}")

    async def get_experiment_bytes(self, experiment_id: str) -> tuple[bytes | None, str]:
        return await self._get_bytes(self.experiment_key(experiment_id), f"experiment {experiment_id}")

    def _experiment_value(self, experiment_id: str, config: Mapping[str, Any]) -> bytes:
        value = dump_json(config, f"Experiment {experiment_id}", compact=False)
        errs = experiment_errors(json.loads(value))
        if errs:
            raise Invalid(BACKEND, f"Experiment {experiment_id}: {errs[0]}.")
        return value

    async def put_experiment_raw(
        self, experiment_id: str, config: Mapping[str, Any], expected_version: str | None
    ) -> str:
        """Store a seed experiment config; Invalid when it could not assign users."""
        value = self._experiment_value(experiment_id, config)
        return await self._put(
            "experiment", experiment_id, self.experiment_key(experiment_id), value, expected_version, None
        )

    async def put_experiment_audited(
        self, experiment_id: str, config: Mapping[str, Any], expected_version: str | None, event: AuditEvent
    ) -> str:
        value = self._experiment_value(experiment_id, config)
        return await self._put(
            "experiment", experiment_id, self.experiment_key(experiment_id), value, expected_version, event
        )

    async def put_experiment_bytes(
        self, experiment_id: str, value: bytes, expected_version: str | None, event: AuditEvent | None = None
    ) -> str:
        return await self._put(
            "experiment", experiment_id, self.experiment_key(experiment_id), value, expected_version, event
        )

    async def import_experiments(
        self, source: bytes | str | Mapping[str, Any], *, overwrite: bool = False
    ) -> dict[str, str]:
        """Every experiment of the seed's ConfigMap (or experiments.json), all or nothing (see `importer`)."""
        self.conn.writable("the experiments")
        return await import_experiments(self.conn, self.experiment_key, source, overwrite=overwrite)

    # ------------------------------------------------------------ tracking, counters, changes (owned parts)
    async def track_assignment(self, experiment_id: str, user_id: str) -> str | None:
        return await self.tracker.track_assignment(experiment_id, user_id)

    async def track_conversion(self, experiment_id: str, user_id: str, metric: str, value: float = 1.0) -> str | None:
        return await self.tracker.track_conversion(experiment_id, user_id, metric, value)

    async def experiment_results(self, experiment_id: str) -> dict[str, VariantResult]:
        return await self.tracker.experiment_results(experiment_id)

    async def sample_user_ids(self, limit: int = 10_000) -> list[str]:
        return await self.tracker.sample_user_ids(limit)

    async def needs_rebuild(self, experiment_id: str) -> bool:
        return await self.rebuilder.needs_rebuild(experiment_id)

    async def rebuild_counters(
        self, experiment_id: str, progress: Progress | None = None, *, batch: int = 500
    ) -> RebuildReport:
        self.conn.writable(f"experiment {experiment_id}'s counters")
        return await self.rebuilder.rebuild_counters(experiment_id, progress, batch=batch)

    @property
    def watch_mode(self) -> str:
        return self.watcher.mode

    async def notify_mode(self) -> str:
        return await self.watcher.notify_mode()

    def watch_changes(self, *, poll_interval: float = 1.0, recheck: float = 30.0) -> AsyncIterator[Change]:
        return self.watcher.watch_changes(poll_interval=poll_interval, recheck=recheck)
