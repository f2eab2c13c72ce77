"""`Store` on Redis, in the seed's layout: `feature:<name>` and `experiment:<id>` JSON strings.

Reads never use `KEYS`: lists come from `SCAN` + `MGET`. A value that is not
a JSON object is listed with its `error` set and is never overwritten unless
the writer names its exact version (a deliberate repair). Writes are
optimistic: `WATCH` the key, compare its version (a hash of the stored
bytes), `MULTI`/`EXEC`; another writer in between makes `EXEC` fail and the
loser gets `Conflict` naming what changed. Flags are written the way the
seed's Node service writes them (`JSON.stringify`, key order kept, unknown
fields kept); experiments the way its Python manager would (`json.dumps`).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from redis import exceptions as rx
from redis.asyncio.client import Pipeline

from app.audit import describe_changes, event_fields
from app.clock import Clock, RealClock
from app.experiments import experiment_errors, import_experiments, parse_experiment
from app.flags import flag_to_json, parse_flag, validate_flag_name
from app.model import AuditEvent, Experiment, Flag, Level
from backends.base import Conflict, Invalid, NotFound
from backends.redis_conn import (
    ABSENT,
    BACKEND,
    RedisBase,
    dump_json,
    glob_escape,
    key_text,
    load_object,
    version_of,
)
from backends.redis_tracking import TrackingMixin
from backends.redis_watch import WatchMixin

#: What the kill switch writes over a flag. `environments: []` alone already
#: makes the seed's `evaluateFlag` return false for every user and environment
#: (an empty array is truthy and includes nothing, and environments are checked
#: before the whitelist); the other three keep the flag off when someone later
#: restores its environments, until somebody deliberately turns it back on.
KILL_FIELDS: dict[str, Any] = {"enabled": False, "percentage": 0, "userWhitelist": [], "environments": []}
#: Experiments carry the days since their first assignment where the model has the field.
_HAS_ELAPSED = "elapsed_days" in Experiment.model_fields
SCAN_COUNT = 500
MGET_CHUNK = 500
ATTEMPTS = 5

Decide = Callable[[bytes | None], Callable[[Pipeline], None] | None]


def _checked_id(kind: str, value: str) -> None:
    """Flag names and experiment ids follow the same rule (see `validate_flag_name`)."""
    try:
        validate_flag_name(value)
    except ValueError as exc:
        text = str(exc)
        if kind == "experiment":
            text = text.replace("A flag name", "An experiment id").replace("feature:", "experiment:")
        raise Invalid(BACKEND, text) from None


class RedisStore(TrackingMixin, WatchMixin, RedisBase):
    """Flags, experiments, tracking and live changes on one Redis database."""

    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        clock: Clock | None = None,
        key_prefix: str = "",
        audit_stream: str = "shiftroom:audit",
        audit_maxlen: int = 10_000,
    ) -> None:
        super().__init__(url, read_only=read_only)
        self.clock: Clock = clock or RealClock()
        self.prefix = key_prefix
        self.audit_stream = audit_stream
        self.audit_maxlen = audit_maxlen
        self.watch_mode = "idle"  # "keyspace", "polling" or "disconnected" while watch_changes runs
        self._seen: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    # ------------------------------------------------------------ keys

    def flag_key(self, name: str) -> str:
        return f"{self.prefix}feature:{name}"

    def experiment_key(self, experiment_id: str) -> str:
        return f"{self.prefix}experiment:{experiment_id}"

    def _remember(self, key: str, version: str, value: dict[str, Any] | None) -> None:
        """What a version held, so a conflict can say what changed since."""
        if value is None:
            return
        self._seen[(key, version)] = value
        self._seen.move_to_end((key, version))
        while len(self._seen) > 512:
            self._seen.popitem(last=False)

    # ------------------------------------------------------------ scanning

    async def _scan_values(self, kind: str, doing: str) -> list[tuple[str, bytes | None, str]]:
        """(name, raw value, Redis type when not a string) for every `<kind>:*` key, sorted by name."""
        prefix = f"{self.prefix}{kind}:"
        found: set[bytes] = set()
        async with self.io(doing):
            cursor = 0
            while True:
                cursor, keys = await self.client.scan(cursor, match=glob_escape(prefix) + "*", count=SCAN_COUNT)
                found.update(keys)
                if cursor == 0:
                    break
            keys = sorted(found)
            out: list[tuple[str, bytes | None, str]] = []
            missing: list[int] = []
            for i in range(0, len(keys), MGET_CHUNK):
                chunk = keys[i : i + MGET_CHUNK]
                for key, raw in zip(chunk, await self.client.mget(chunk)):
                    if raw is None:
                        missing.append(len(out))
                    out.append((key_text(key)[len(prefix):], raw, ""))
            if missing:  # MGET answers nil for keys of another type, and for keys deleted meanwhile
                pipe = self.client.pipeline(transaction=False)
                for i in missing:
                    pipe.type(keys[i])
                types = await pipe.execute()
                for i, t in zip(missing, types):
                    name, _, _ = out[i]
                    out[i] = (name, None, key_text(t))
        return [row for row in out if row[2] != "none"]

    # ------------------------------------------------------------ transactions

    async def _transact(self, key: str, decide: Decide, doing: str) -> bytes | None:
        """WATCH `key`, hand its value to `decide`, run the commands it queues in MULTI/EXEC.

        `decide` raises to refuse (Conflict, Invalid...) or returns None to do
        nothing. A WatchError (someone wrote in between, or the connection
        dropped while watching) re-reads and decides again. Returns the value
        the decision was made on.
        """
        for _ in range(ATTEMPTS):
            async with self.io(doing):
                async with self.client.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(key)
                        raw = await pipe.get(key)
                        queue = decide(raw)
                        if queue is None:
                            return raw
                        pipe.multi()
                        queue(pipe)
                        await pipe.execute()
                        return raw
                    except rx.WatchError:
                        continue
        raise Conflict(BACKEND, f"{key_text(key)} kept changing while Shiftroom tried to write it; reload it and try again.")

    def _conflict(self, what: str, key: str, expected: str | None, raw: bytes | None) -> None:
        """Raise Conflict when `raw` is not the version the writer read."""
        current = version_of(raw)
        if expected is None or expected == current:
            return
        if raw is None:
            raise Conflict(BACKEND, f"{what} was deleted by someone else since you read it; reload and create it again if it is still needed.")
        now = load_object(raw)
        if expected == ABSENT:
            change = describe_changes({}, now) if now is not None else "not a JSON object"
            raise Conflict(BACKEND, f"{what} was created by someone else meanwhile ({change}); reload it and apply your change on top.")
        before = self._seen.get((key, expected))
        if before is not None and now is not None:
            change = describe_changes(before, now) or "same fields, new formatting"
        elif now is not None:
            change = "now " + json.dumps(now, ensure_ascii=False, separators=(",", ":"))[:120]
        else:
            change = "it no longer holds a JSON object"
        raise Conflict(BACKEND, f"{what} was changed by someone else since you read it ({change}); reload it and apply your change again.")

    def _guard_malformed(self, what: str, expected: str | None, raw: bytes | None) -> None:
        """Never overwrite a value that is not a JSON object unless its exact version was named."""
        if raw is not None and load_object(raw) is None and expected != version_of(raw):
            raise Invalid(BACKEND, f"{what} holds a value that is not a JSON object; Shiftroom only replaces it when given that value's version (read it with get_*_bytes first).")

    async def _get_raw(self, key: str, what: str) -> tuple[dict[str, Any] | None, str]:
        async with self.io(f"reading {what}"):
            raw = await self.client.get(key)
        version = version_of(raw)
        if raw is None:
            return None, ABSENT
        value = load_object(raw)
        if value is None:
            raise Invalid(BACKEND, f"{what} in Redis is not a JSON object; it is shown as invalid and left untouched.")
        self._remember(key, version, value)
        return value, version

    async def _get_bytes(self, key: str, what: str) -> tuple[bytes | None, str]:
        async with self.io(f"reading {what}"):
            raw = await self.client.get(key)
        return raw, version_of(raw)

    async def _put(self, key: str, what: str, value: bytes, parsed: dict[str, Any], expected: str | None) -> str:
        def decide(raw: bytes | None) -> Callable[[Pipeline], None]:
            self._conflict(what, key, expected, raw)
            self._guard_malformed(what, expected, raw)
            return lambda pipe: pipe.set(key, value)

        await self._transact(key, decide, f"writing {what}")
        version = version_of(value)
        self._remember(key, version, parsed)
        return version

    async def _delete(self, key: str, what: str, expected: str | None) -> None:
        def decide(raw: bytes | None) -> Callable[[Pipeline], None] | None:
            self._conflict(what, key, expected, raw)
            self._guard_malformed(what, expected, raw)
            return None if raw is None else (lambda pipe: pipe.delete(key))

        await self._transact(key, decide, f"deleting {what}")

    # ------------------------------------------------------------ flags

    async def list_flags(self) -> list[Flag]:
        flags = []
        for name, raw, rtype in await self._scan_values("feature", "listing flags"):
            if raw is None:
                flags.append(Flag(name=name, error=f"Flag {name} is stored as a Redis {rtype}, not a JSON string."))
            else:
                flags.append(parse_flag(name, raw))
        return flags

    async def get_flag_raw(self, name: str) -> tuple[dict[str, Any] | None, str]:
        """The stored JSON object and its version; (None, "0") when absent; Invalid when not a JSON object."""
        return await self._get_raw(self.flag_key(name), f"flag {name}")

    async def get_flag_bytes(self, name: str) -> tuple[bytes | None, str]:
        """The stored bytes as they are (to show or repair an invalid value) and their version."""
        return await self._get_bytes(self.flag_key(name), f"flag {name}")

    async def put_flag_raw(self, name: str, config: Mapping[str, Any], expected_version: str | None) -> str:
        """Store `config` as the seed's service would; `expected_version` "0" = create only, None = blind write."""
        self.writable(f"flag {name}")
        _checked_id("flag", name)
        value = dump_json(config, f"Flag {name}", compact=True)
        return await self._put(self.flag_key(name), f"Flag {name}", value, json.loads(value), expected_version)

    async def delete_flag(self, name: str, expected_version: str | None) -> None:
        self.writable(f"flag {name}")
        _checked_id("flag", name)
        await self._delete(self.flag_key(name), f"Flag {name}", expected_version)

    async def kill_flag(self, name: str, reason: str, actor: str) -> AuditEvent:
        """Turn a flag off for every user in every environment, and record why, in one transaction.

        Writes `KILL_FIELDS` over the stored JSON (other fields kept), so the
        seed's `evaluateFlag` answers false whatever the user and environment,
        and XADDs the audit event (before/after) to `audit_stream` in the same
        MULTI. Wins against concurrent edits (it re-reads and re-applies).
        NotFound when there is no such flag; Invalid, leaving it untouched,
        when the value is not a JSON object (the seed's service then answers
        500 and its clients already serve the flag as off).
        """
        self.writable(f"flag {name}")
        _checked_id("flag", name)
        key = self.flag_key(name)
        done: list[AuditEvent] = []

        def decide(raw: bytes | None) -> Callable[[Pipeline], None]:
            done.clear()
            if raw is None:
                raise NotFound(BACKEND, f"Flag {name} does not exist, so the seed's service already answers it as off (404).")
            before = load_object(raw)
            if before is None:
                raise Invalid(BACKEND, f"Flag {name} is not a JSON object, so the seed's service already serves it as off; Shiftroom leaves it untouched.")
            after = flag_to_json(KILL_FIELDS, before)
            event = AuditEvent(t=self.clock.now(), actor=actor, target=f"flag:{name}", action="kill",
                               reason=reason, before=before, after=after, level=Level.WARN)
            value = dump_json(after, f"Flag {name}", compact=True)
            done.append(event)

            def queue(pipe: Pipeline) -> None:
                pipe.set(key, value)
                pipe.xadd(self.audit_stream, event_fields(event), maxlen=self.audit_maxlen, approximate=True)

            return queue

        await self._transact(key, decide, f"killing flag {name}")
        return done[0]

    # ------------------------------------------------------------ experiments

    async def list_experiments(self) -> list[Experiment]:
        """Every `experiment:<id>` with (users, converters) per variant from the counters,
        and the days since its first assignment (`elapsed_days`)."""
        rows = await self._scan_values("experiment", "listing experiments")
        results, firsts = await self._results([name for name, _, _ in rows], "reading experiment counters")
        now = self.clock.now()
        out = []
        for name, raw, rtype in rows:
            if raw is None:
                out.append(Experiment(id=name, error=f"Experiment {name} is stored as a Redis {rtype}, not a JSON string."))
                continue
            config = load_object(raw)
            metrics = config.get("metrics") if config else None
            primary = metrics.get("primary") if isinstance(metrics, dict) else None
            stats = {v: (r.users, r.converters_for(primary if isinstance(primary, str) else None))
                     for v, r in results.get(name, {}).items()}
            experiment = parse_experiment(name, raw, stats)
            if name in firsts and _HAS_ELAPSED:
                elapsed = max(0.0, (now - firsts[name]) / 86400)
                experiment = experiment.model_copy(update={"elapsed_days": elapsed})
            out.append(experiment)
        return out

    async def get_experiment_raw(self, experiment_id: str) -> tuple[dict[str, Any] | None, str]:
        return await self._get_raw(self.experiment_key(experiment_id), f"experiment {experiment_id}")

    async def get_experiment_bytes(self, experiment_id: str) -> tuple[bytes | None, str]:
        return await self._get_bytes(self.experiment_key(experiment_id), f"experiment {experiment_id}")

    async def put_experiment_raw(self, experiment_id: str, config: Mapping[str, Any], expected_version: str | None) -> str:
        """Store a seed experiment config; Invalid when it could not assign users."""
        self.writable(f"experiment {experiment_id}")
        _checked_id("experiment", experiment_id)
        value = dump_json(config, f"Experiment {experiment_id}", compact=False)
        parsed = json.loads(value)
        errs = experiment_errors(parsed)
        if errs:
            raise Invalid(BACKEND, f"Experiment {experiment_id}: {errs[0]}.")
        return await self._put(self.experiment_key(experiment_id), f"Experiment {experiment_id}", value, parsed,
                               expected_version)

    async def import_experiments(
        self, source: bytes | str | Mapping[str, Any], *, overwrite: bool = False
    ) -> dict[str, str]:
        """Write every experiment of the seed's ConfigMap (or experiments.json) as `experiment:<id>`.

        All or nothing, in one MULTI: refuses (Conflict, nothing written) when
        an existing experiment differs, unless `overwrite`. Returns id ->
        "created" | "unchanged" | "replaced".
        """
        self.writable("the experiments")
        try:
            pairs = import_experiments(source)
        except ValueError as exc:
            raise Invalid(BACKEND, str(exc)) from None
        values: dict[str, bytes] = {}
        for eid, config in pairs:
            _checked_id("experiment", eid)
            errs = experiment_errors(config)
            if errs:
                raise Invalid(BACKEND, f"Experiment {eid} in the file: {errs[0]}.")
            values[eid] = dump_json(config, f"Experiment {eid}", compact=False)
        keys = [self.experiment_key(eid) for eid in values]
        for _ in range(ATTEMPTS):
            async with self.io("importing experiments"):
                async with self.client.pipeline(transaction=True) as pipe:
                    try:
                        if keys:
                            await pipe.watch(*keys)
                        current = await pipe.mget(keys) if keys else []
                        status: dict[str, str] = {}
                        clashes = []
                        for (eid, value), raw in zip(values.items(), current):
                            if raw is None:
                                status[eid] = "created"
                            elif load_object(raw) == json.loads(value):
                                status[eid] = "unchanged"
                            else:
                                status[eid] = "replaced"
                                clashes.append(eid)
                        if clashes and not overwrite:
                            raise Conflict(BACKEND, f"Experiment{'s' if len(clashes) > 1 else ''} {', '.join(clashes)} already exist{'' if len(clashes) > 1 else 's'} with a different config; nothing was imported (use overwrite to replace).")
                        pipe.multi()
                        for (eid, value), key in zip(values.items(), keys):
                            if status[eid] != "unchanged":
                                pipe.set(key, value)
                        await pipe.execute()
                        return status
                    except rx.WatchError:
                        continue
        raise Conflict(BACKEND, "The experiments kept changing during the import; nothing was imported, try again.")
