"""The embedded flag/experiment store and audit log: the seed's Redis layout, in process.

Flags are raw JSON objects under their names (the seed's `feature:<name>`),
experiments raw seed configs under their ids (`experiment:<id>`). Each
object has a version token, as a Redis WATCH or a Kubernetes resourceVersion
would give: a write that names a stale version fails with `Conflict`, so two
editors never overwrite each other silently. A read-only store refuses every
write with `ReadOnly`. Experiment results come from a simulated population.

Like the Redis store it hands out the stored bytes (`RawValues`: a flag
written as bytes keeps them exactly), names the users its population has
assigned (`UserSampler`), and, built with its `SimAudit`
(`AuditedSimStore`), writes a value and its audit entry together
(`AuditedWrites`).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any

from app.clock import Clock
from app.experiments import experiment_errors, parse_experiment
from app.flag_json import parse_flag, validate_flag_name
from app.model import AuditEvent, Experiment, Flag
from backends.base import Conflict, Invalid, ReadOnly, Unavailable
from backends.sim.population import Population

#: What a parser may raise on hostile input besides its own "invalid" results.
_PARSE_ERRORS = (ValueError, TypeError, KeyError, RecursionError, OverflowError, UnicodeError)

#: The two flags the seed's frontend reads (ProductList.jsx).
SEED_FLAGS: dict[str, dict[str, Any]] = {
    "new-product-design": {
        "enabled": True,
        "environments": ["production", "staging"],
        "percentage": 25,
        "public": {"layout": "grid", "theme": "v2"},
    },
    "ai-recommendations": {
        "enabled": False,
        "userWhitelist": ["user-1", "user-42", "qa-team"],
        "percentage": 10,
        "public": {"model": "collab-filter-v1", "max_items": 6},
    },
}

#: The seed's ConfigMap `ab-test-config`, key `experiments.json`, verbatim.
SEED_EXPERIMENTS_JSON = """\
{
  "checkout-flow-redesign": {
    "name": "Checkout Flow Redesign",
    "description": "Testing new streamlined checkout process",
    "status": "active",
    "traffic_split": {
      "control": 50,
      "variant_a": 50
    },
    "targeting": {
      "user_segments": ["new_users", "mobile_users"],
      "geo_locations": ["US", "CA", "UK"]
    },
    "metrics": {
      "primary": "conversion_rate",
      "secondary": ["cart_abandonment", "time_to_checkout"]
    },
    "duration_days": 14,
    "min_sample_size": 1000
  },
  "product-page-layout": {
    "name": "Product Page Layout Test",
    "description": "Testing grid vs list layout for products",
    "status": "active",
    "traffic_split": {
      "control": 33,
      "variant_a": 33,
      "variant_b": 34
    },
    "metrics": {
      "primary": "click_through_rate",
      "secondary": ["time_on_page", "bounce_rate"]
    },
    "duration_days": 7,
    "min_sample_size": 500
  }
}
"""
SEED_EXPERIMENTS: dict[str, dict[str, Any]] = json.loads(SEED_EXPERIMENTS_JSON)
ABSENT = "0"  # the version token of an object that does not exist


def _json_copy(config: Any, what: str) -> dict[str, Any]:
    """A deep, JSON-normalised copy (what Redis would give back); Invalid when not a JSON object."""
    if not isinstance(config, Mapping):
        raise Invalid("sim", f"{what} must be a JSON object.")
    try:
        copied: dict[str, Any] = json.loads(json.dumps(config, allow_nan=False))
        return copied
    except (TypeError, ValueError) as exc:
        raise Invalid("sim", f"{what} cannot be stored as JSON ({exc}).") from None


class _Versioned:
    """Objects by key, each with a version token from one monotonic counter."""

    def __init__(self, counter: itertools.count[int], items: Mapping[str, Any]) -> None:
        self._counter = counter
        self.data: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, str] = {}
        for key, value in items.items():
            self.data[key] = copy.deepcopy(dict(value))
            self.versions[key] = str(next(counter))

    def get(self, key: str) -> tuple[dict[str, Any] | None, str]:
        if key not in self.data:
            return None, ABSENT
        return copy.deepcopy(self.data[key]), self.versions[key]

    def check(self, key: str, expected: str | None, what: str) -> None:
        current = self.versions.get(key, ABSENT)
        if expected is not None and expected != current:
            state = "was deleted" if current == ABSENT else "already exists" if expected == ABSENT else "changed"
            raise Conflict("sim", f"{what} {state} since it was read; reload it and apply the change again.")

    def put(self, key: str, value: dict[str, Any]) -> str:
        self.data[key] = value  # in place: the population holds a live view of this dict
        self.versions[key] = str(next(self._counter))
        return self.versions[key]

    def delete(self, key: str) -> None:
        self.data.pop(key, None)
        self.versions.pop(key, None)


class SimStore:
    """`backends.base.Store` in process, seeded with the seed's flags and experiments."""

    name = "sim"

    def __init__(
        self,
        clock: Clock,
        seed: int = 0,
        read_only: bool = False,
        *,
        flags: Mapping[str, Mapping[str, Any]] | None = None,
        experiments: Mapping[str, Mapping[str, Any]] | None = None,
        users_per_second: float = 20.0,
        rates: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        self.clock = clock
        self.read_only = read_only
        counter = itertools.count(1)
        self._flags = _Versioned(counter, SEED_FLAGS if flags is None else flags)
        self._experiments = _Versioned(counter, SEED_EXPERIMENTS if experiments is None else experiments)
        self.population = Population(
            clock, seed, self._experiments.data, users_per_second=users_per_second, rates=rates
        )
        self._down = ""
        self._flag_bytes: dict[str, bytes] = {}  # flags written as bytes, kept exactly

    # ------------------------------------------------------------ health

    def set_unavailable(self, reason: str | None) -> None:
        """Scenarios: make every call fail with `Unavailable(reason)` until called with None."""
        self._down = reason or ""

    def _up(self) -> None:
        if self._down:
            raise Unavailable("sim", self._down)

    def _writable(self, what: str) -> None:
        self._up()
        if self.read_only:
            raise ReadOnly("sim", f"The store is read-only, so {what} was not changed.")

    async def ping(self) -> None:
        self._up()

    # ------------------------------------------------------------ flags

    async def list_flags(self) -> list[Flag]:
        self._up()
        return [_flag(n, self._flag_bytes.get(n, self._flags.data[n])) for n in sorted(self._flags.data)]

    async def get_flag_raw(self, name: str) -> tuple[dict[str, Any] | None, str]:
        """The stored JSON and its version token; (None, "0") when there is no such flag."""
        self._up()
        return self._flags.get(name)

    async def put_flag_raw(self, name: str, config: Mapping[str, Any], expected_version: str | None) -> str:
        """Store `config` as is (unknown fields included); `expected_version` "0" means create only."""
        self._writable(f"flag {name}")
        try:
            validate_flag_name(name)
        except ValueError as exc:
            raise Invalid("sim", str(exc)) from None
        value = _json_copy(config, f"Flag {name}")
        self._flags.check(name, expected_version, f"Flag {name}")
        self._flag_bytes.pop(name, None)
        return self._flags.put(name, value)

    async def get_flag_bytes(self, name: str) -> tuple[bytes | None, str]:
        self._up()
        if name not in self._flags.data:
            return None, ABSENT
        raw = self._flag_bytes.get(name)
        if raw is None:
            raw = json.dumps(self._flags.data[name], ensure_ascii=False, separators=(",", ":")).encode(
                "utf-8", "surrogateescape"
            )
        return raw, self._flags.versions[name]

    async def put_flag_bytes(
        self, name: str, value: bytes, expected_version: str | None, event: AuditEvent | None = None
    ) -> str:
        """Store these exact bytes; only an existing flag (of any name) or a valid new name."""
        self._writable(f"flag {name}")
        if name not in self._flags.data:
            try:
                validate_flag_name(name)
            except ValueError as exc:
                raise Invalid("sim", str(exc)) from None
        self._flags.check(name, expected_version, f"Flag {name}")
        self._audit_too(event)
        self._flag_bytes[name] = bytes(value)
        parsed = _object_or_empty(value)
        return self._flags.put(name, parsed)

    def _audit_too(self, event: AuditEvent | None) -> None:
        if event is not None:
            raise Invalid("sim", "This store has no audit log of its own; record the event separately.")

    async def delete_flag(self, name: str, expected_version: str | None) -> None:
        self._writable(f"flag {name}")
        self._flags.check(name, expected_version, f"Flag {name}")
        self._flags.delete(name)
        self._flag_bytes.pop(name, None)

    # ------------------------------------------------------------ experiments

    async def list_experiments(self) -> list[Experiment]:
        """Every experiment with the population's live (users, converters) per variant and its age."""
        self._up()
        now = self.clock.now()
        self.population.tick(now)
        return [
            parse_experiment(eid, cfg, self.population.counts(eid)).model_copy(
                update={"elapsed_days": self.population.elapsed_days(eid, now)}
            )
            for eid, cfg in self._experiments.data.items()
        ]

    async def get_experiment_raw(self, experiment_id: str) -> tuple[dict[str, Any] | None, str]:
        self._up()
        return self._experiments.get(experiment_id)

    async def put_experiment_raw(
        self, experiment_id: str, config: Mapping[str, Any], expected_version: str | None
    ) -> str:
        """Store a seed experiment config; Invalid when it could not assign users."""
        self._writable(f"experiment {experiment_id}")
        value = _json_copy(config, f"Experiment {experiment_id}")
        errs = experiment_errors(value)
        if errs:
            raise Invalid("sim", f"Experiment {experiment_id}: {errs[0]}.")
        self._experiments.check(experiment_id, expected_version, f"Experiment {experiment_id}")
        return self._experiments.put(experiment_id, value)

    async def get_experiment_bytes(self, experiment_id: str) -> tuple[bytes | None, str]:
        value, version = await self.get_experiment_raw(experiment_id)
        return (json.dumps(value).encode() if value is not None else None), version

    async def put_experiment_bytes(
        self, experiment_id: str, value: bytes, expected_version: str | None, event: AuditEvent | None = None
    ) -> str:
        self._writable(f"experiment {experiment_id}")
        parsed = _object_or_empty(value)
        errs = experiment_errors(parsed)
        if errs:
            raise Invalid("sim", f"Experiment {experiment_id}: {errs[0]}.")
        self._experiments.check(experiment_id, expected_version, f"Experiment {experiment_id}")
        self._audit_too(event)
        return self._experiments.put(experiment_id, parsed)

    # ------------------------------------------------------------ sampling

    async def sample_user_ids(self, limit: int = 10_000) -> list[str]:
        """The ids the population has assigned so far (`sim-user-N`)."""
        self._up()
        return [f"sim-user-{i}" for i in range(min(limit, self.population.users_so_far))]


class AuditedSimStore(SimStore):
    """`SimStore` built with its `SimAudit`: a value and its audit entry are written together."""

    def __init__(self, clock: Clock, audit: SimAudit, **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        self.audit = audit

    def _audit_too(self, event: AuditEvent | None) -> None:
        if event is not None:
            self.audit.append_now(event)

    async def put_flag_audited(
        self, name: str, config: Mapping[str, Any], expected_version: str | None, event: AuditEvent
    ) -> str:
        raw = json.dumps(_json_copy(config, f"Flag {name}"), ensure_ascii=False, separators=(",", ":"))
        return await self.put_flag_bytes(name, raw.encode("utf-8", "surrogateescape"), expected_version, event)

    async def put_experiment_audited(
        self, experiment_id: str, config: Mapping[str, Any], expected_version: str | None, event: AuditEvent
    ) -> str:
        return await self.put_experiment_bytes(
            experiment_id, json.dumps(_json_copy(config, "Experiment")).encode(), expected_version, event
        )


def _object_or_empty(value: bytes) -> dict[str, Any]:
    """The JSON object in `value` (for evaluation in the simulator); {} when it cannot be read as one."""
    try:
        parsed = json.loads(value.decode("utf-8", "surrogateescape"))
    except _PARSE_ERRORS:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _flag(name: str, raw: bytes | Mapping[str, Any]) -> Flag:
    try:
        return parse_flag(name, raw)
    except _PARSE_ERRORS as exc:
        return Flag(name=name, error=f"Flag {name} is not usable: it cannot be read ({type(exc).__name__}).")


class SimAudit:
    """`backends.base.AuditLog` in memory: the newest `limit` events."""

    name = "sim"

    def __init__(self, limit: int = 1000, read_only: bool = False) -> None:
        if limit <= 0:
            raise ValueError("limit must be positive.")
        self.read_only = read_only
        self._events: deque[AuditEvent] = deque(maxlen=limit)
        self._delivered: set[str] = set()
        self._followers: list[asyncio.Queue[AuditEvent]] = []

    async def ping(self) -> None:
        return None

    async def append(self, event: AuditEvent) -> None:
        self.append_now(event)

    def append_now(self, event: AuditEvent) -> None:
        if self.read_only:
            raise ReadOnly("sim", "The audit log is read-only, so the event was not recorded.")
        self._events.append(event)
        for queue in self._followers:
            queue.put_nowait(event)

    def view(self, *, read_only: bool) -> SimAudit:
        """Another handle on the same entries (a read-only room beside the world's controller)."""
        other = SimAudit(read_only=read_only)
        other._events, other._delivered, other._followers = self._events, self._delivered, self._followers
        return other

    async def follow(self) -> AsyncIterator[AuditEvent]:
        """Entries appended from now on, through any handle on these entries."""
        queue: asyncio.Queue[AuditEvent] = asyncio.Queue()
        self._followers.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._followers.remove(queue)

    async def append_once(self, event: AuditEvent, uid: str) -> bool:
        if uid in self._delivered:
            return False
        self.append_now(event)
        self._delivered.add(uid)
        return True

    async def recent(self, limit: int = 200) -> list[AuditEvent]:
        """The last `limit` events, oldest first."""
        if limit <= 0:
            return []
        return list(self._events)[-limit:]
