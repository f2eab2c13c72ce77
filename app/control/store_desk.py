"""Every store command the engine runs: flag save, kill, restore, experiment status, counter rebuild.

The engine owns one `StoreDesk` and hands it the store commands of
`app.control.commands`. A command is previewed once (`preview`): the preview
says what changes, field by field, and carries the version token of the
stored value it was computed from; `execute` re-reads, refuses a confirmed
preview whose version moved (`stale`, with the fresh preview), and writes.

Edits work on the stored bytes (`RawValues`) and rewrite only the members
they change (`rawjson`, `flag_edits`): whatever else a flag's JSON holds is
kept byte for byte, and any flag the seed serves can be killed and restored
whatever its name. A write and its audit entry go in one transaction where
the store can (`AuditedWrites`: Redis MULTI + XADD); otherwise the write is
followed by `trail.record`. Capabilities are checked once, here, with
isinstance on the protocols of `backends.base`.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from app.audit import describe_changes
from app.clock import Clock
from app.control import flag_edits, rawjson
from app.control.audit_trail import AuditTrail
from app.control.commands import (
    NEW_VERSION,
    Command,
    KillFlag,
    Preview,
    RebuildCounters,
    RestoreFlag,
    Result,
    SaveFlag,
    SetExperimentStatus,
)
from app.control.jobs import JobBoard
from app.control.store_jobs import RebuildJobs
from app.control.store_words import action as _action
from app.control.store_words import changes as _changes
from app.control.store_words import config as _config
from app.control.store_words import done as _done
from app.control.store_words import reason_of, subject
from app.control.store_words import save_problem as _save_problem
from app.control.store_words import target as _target
from app.control.store_words import title as _title
from app.control.store_words import what as _what
from app.flags import cohort_diff
from app.model import AuditEvent, BackendHealth, Experiment, Flag, HealthStatus, Level
from backends.base import (
    AuditedWrites,
    BackendError,
    Conflict,
    CounterRebuild,
    ExperimentWrites,
    RawValues,
    Store,
    UserSampler,
)

STATUSES = ("draft", "active", "paused", "completed", "stopped")
ATTEMPTS = 4
SAMPLE = 10_000


@dataclass(frozen=True)
class FlagRead:
    """A flag as the editor opens it: the parsed members, those that could not be parsed, and the version."""

    name: str
    config: dict[str, Any] | None  # None: no such flag
    version: str
    invalid: dict[str, str] = field(default_factory=dict)  # member -> why it could not be read
    error: str = ""  # the whole value cannot be edited (not an object, store down...)


@dataclass(frozen=True)
class _Stored:
    text: str | None
    version: str


class StoreDesk:
    def __init__(
        self, store: Store | None, trail: AuditTrail, jobs: JobBoard, clock: Clock, read_only: bool, instance: str
    ) -> None:
        self.store = store
        self.trail = trail
        self.jobs = jobs
        self.clock = clock
        self.instance = instance
        self.read_only = read_only or bool(store is not None and store.read_only)
        self.raw: RawValues | None = store if isinstance(store, RawValues) else None
        self.audited = isinstance(store, AuditedWrites)
        self.experiment_writes: ExperimentWrites | None = store if isinstance(store, ExperimentWrites) else None
        self.sampler: UserSampler | None = store if isinstance(store, UserSampler) else None
        self.rebuilds = RebuildJobs(
            store if isinstance(store, CounterRebuild) else None, jobs, trail, clock, instance, self._note_failure
        )
        self._health = BackendHealth(name="store", kind=store.name, since=clock.now()) if store else None
        self._seen: OrderedDict[tuple[str, str, str], str] = OrderedDict()  # what a version held (conflicts)
        self._flags: tuple[Flag, ...] = ()
        self._experiments: tuple[Experiment, ...] = ()

    # ------------------------------------------------------------ what the engine publishes
    @property
    def health(self) -> BackendHealth | None:
        return self._health

    async def refresh(self) -> tuple[tuple[Flag, ...], tuple[Experiment, ...]]:
        """Every stored flag and experiment, valid or not; the last good lists while the store is down."""
        if self.store is None:
            return (), ()
        try:
            flags = tuple(await self.store.list_flags())
            experiments = tuple(await self.store.list_experiments())
            experiments = await self.rebuilds.mark(experiments)
        except BackendError as err:
            self._note_failure(err.sentence)
            return self._flags, self._experiments
        except Exception as err:  # a bug or hostile data: the store's dot turns red with the sentence
            self._note_failure(
                f"Reading the store failed inside Shiftroom ({type(err).__name__}: {err}); "
                "the last good lists stay on screen."
            )
            return self._flags, self._experiments
        self._flags, self._experiments = flags, experiments
        self._note_ok()
        return flags, experiments

    def _note_failure(self, sentence: str) -> None:
        old = self._health
        if old is not None and (old.status is not HealthStatus.DOWN or old.reason != sentence):
            self._health = BackendHealth(
                name="store", kind=old.kind, status=HealthStatus.DOWN, reason=sentence, since=self.clock.now()
            )

    def _note_ok(self) -> None:
        old = self._health
        if old is not None and old.status is not HealthStatus.UP:
            self._health = BackendHealth(name="store", kind=old.kind, since=self.clock.now())

    # ------------------------------------------------------------ reads for the screens
    async def read_flag(self, name: str) -> FlagRead:
        if self.store is None:
            return FlagRead(name, None, "", error=f"This room has no flag store, so flag {name} cannot be read.")
        try:
            stored = await self._read("flag", name)
        except BackendError as err:
            return FlagRead(name, None, "", error=err.sentence)
        if stored.text is None:
            return FlagRead(name, None, stored.version)
        found = rawjson.members(stored.text)
        if found is None:
            return FlagRead(
                name,
                None,
                stored.version,
                error=f"Flag {name} is not a JSON object, so it cannot be "
                "edited; it can still be overwritten by its version.",
            )
        values = rawjson.values(stored.text, found)
        config = {k: v for k, (v, problem, _) in values.items() if not problem}
        invalid = {k: f"{k}: {problem}" for k, (_, problem, _) in values.items() if problem}
        return FlagRead(name, config, stored.version, invalid)

    async def sample_users(self, limit: int = SAMPLE) -> tuple[list[str], str]:
        """User ids to preview a flag change on, and where they came from."""
        if self.sampler is not None:
            try:
                ids = [str(u) for u in await self.sampler.sample_user_ids(limit)]
            except BackendError:
                ids = []  # the store is down: preview on synthetic ids rather than not at all
            if ids:
                return ids, "simulated experiment users" if self.store and self.store.name == "sim" else (
                    "assigned experiment users"
                )
        return [f"user-{i}" for i in range(limit)], f"user-0..user-{limit - 1}"

    # ------------------------------------------------------------ preview
    async def preview(self, cmd: Command) -> Preview:
        try:
            return await self._preview(cmd)
        except BackendError as err:
            self._note_failure(err.sentence)
            return Preview(cmd, _title(cmd), (err.sentence,), possible=False)

    async def _preview(self, cmd: Command) -> Preview:
        if isinstance(cmd, RebuildCounters):
            return await self.rebuilds.preview(cmd, self._refusal(f"experiment {cmd.experiment}'s counters"))
        what = _what(cmd)
        refusal = self._refusal(what)
        if refusal:
            return Preview(cmd, _title(cmd), (refusal,), possible=False)
        if isinstance(cmd, SetExperimentStatus):
            return await self._preview_status(cmd)
        if not isinstance(cmd, (SaveFlag, KillFlag, RestoreFlag)):
            return Preview(cmd, _title(cmd), (f"{what}: this command is not a store command.",), possible=False)
        stored = await self._read("flag", cmd.name)
        if stored.text is None and not (isinstance(cmd, SaveFlag) and cmd.expected_version == NEW_VERSION):
            return Preview(
                cmd,
                _title(cmd),
                (f"Flag {cmd.name} does not exist, so the seed's service already answers it as off (404).",),
                version=stored.version,
                possible=False,
            )
        edit, lines = await self._flag_edit(cmd, stored, by="(you)")
        if edit.problem:
            return Preview(cmd, _title(cmd), (edit.problem,), version=stored.version, possible=False)
        destructive = isinstance(cmd, KillFlag)
        return Preview(
            cmd,
            _title(cmd),
            tuple(lines),
            version=stored.version,
            destructive=destructive,
            confirm_name=cmd.name if destructive else None,
            changes=tuple(_changes(edit)),
        )

    async def _flag_edit(
        self, cmd: SaveFlag | KillFlag | RestoreFlag, stored: _Stored, by: str
    ) -> tuple[flag_edits.Edit, list[str]]:
        name = cmd.name
        if isinstance(cmd, SaveFlag):
            if cmd.expected_version == NEW_VERSION and stored.text is not None:
                return flag_edits.Edit(problem=f"Flag {name} already exists; open it to edit it."), []
            if cmd.expected_version not in (None, NEW_VERSION) and stored.version != cmd.expected_version:
                return flag_edits.Edit(
                    problem=f"Flag {name} was changed since the editor read it ({self._other_change(cmd, stored)}), "
                    "so this save no longer applies; nothing was written."
                ), []
            edit = flag_edits.save(stored.text, name, cmd.config)
            problem = _save_problem(cmd, edit) or edit.problem
            if problem:
                return replace(edit, problem=problem), []
            lines = flag_edits.diff_lines(edit.before, edit.after) or [f"flag {name}: no field changes"]
            return edit, lines + await self._cohort(stored.text or "{}", edit.text, name)
        assert stored.text is not None
        if isinstance(cmd, KillFlag):
            edit = flag_edits.kill(stored.text, name, at=self.clock.now(), by=by, reason=cmd.reason or "(reason)")
        else:
            edit = flag_edits.restore(stored.text, name)
        if edit.problem:
            return edit, []
        ids, label = await self.sample_users()
        return edit, flag_edits.change_lines(edit) + flag_edits.impact(stored.text, edit.text, name, ids, label)

    async def _cohort(self, before: str, after: str, name: str) -> list[str]:
        ids, label = await self.sample_users()
        b, a = flag_edits.evaluated_fields(before), flag_edits.evaluated_fields(after)
        named = [e for f in (b, a) if isinstance(f.get("environments"), list) for e in f["environments"]]
        if any(not isinstance(f.get("environments"), list) or not f["environments"] for f in (b, a)):
            named.insert(0, "production")  # one side is not limited to named environments
        envs = list(dict.fromkeys(e for e in named if isinstance(e, str)))[:4]
        lines = []
        for env in envs:  # every environment the flag is or will be on in, the first four
            gain, lose = cohort_diff(b, a, ids, env, name)
            lines.append(f"{env}: {gain:,} of {len(ids):,} ({label}) gain it, {lose:,} lose it")
        return lines

    async def _preview_status(self, cmd: SetExperimentStatus) -> Preview:
        eid = cmd.experiment
        if cmd.status not in STATUSES:
            return Preview(
                cmd,
                _title(cmd),
                (f"Experiment {eid}: status must be one of {', '.join(STATUSES)}, not {cmd.status!r}.",),
                possible=False,
            )
        if self.raw is None and self.experiment_writes is None:
            return Preview(
                cmd,
                _title(cmd),
                (f"This store cannot change experiments, so experiment {eid} cannot be changed.",),
                possible=False,
            )
        stored = await self._read("experiment", eid)
        if stored.text is None:
            return Preview(
                cmd, _title(cmd), (f"Experiment {eid} does not exist.",), version=stored.version, possible=False
            )
        edit = flag_edits.set_status(stored.text, eid, cmd.status)
        if edit.problem:
            return Preview(cmd, _title(cmd), (edit.problem,), version=stored.version, possible=False)
        if edit.before == edit.after:
            return Preview(
                cmd,
                _title(cmd),
                (f"Experiment {eid} is already {cmd.status}.",),
                version=stored.version,
                possible=False,
            )
        what = "stops assigning new users" if cmd.status != "active" else "assigns new users again"
        return Preview(
            cmd,
            _title(cmd),
            (f"status {edit.before['status']} → {cmd.status}: the seed {what}",),
            version=stored.version,
            destructive=cmd.status != "active",
            changes=tuple(_changes(edit)),
        )

    # ------------------------------------------------------------ execute
    async def execute(self, cmd: Command, confirmed: Preview | None, actor: str) -> Result:
        target = _target(cmd)
        try:
            if isinstance(cmd, SaveFlag) and cmd.expected_version is not None and self._refusal(_what(cmd)) is None:
                stored = await self._read("flag", cmd.name)
                if stored.version != cmd.expected_version:  # the editor's base moved: their change, not a preview
                    return await self._save_conflict(cmd, stored)
            fresh = await self._preview(cmd)
            if confirmed is not None and confirmed.version != fresh.version:
                return Result(
                    False,
                    f"{_what(cmd).capitalize()} changed since the preview; nothing was written — "
                    "review the fresh preview and confirm again.",
                    target,
                    stale=True,
                    preview=fresh,
                )
            if not fresh.possible:
                return Result(
                    False,
                    fresh.lines[0] if fresh.lines else f"{_what(cmd)} cannot be changed now.",
                    target,
                    preview=fresh,
                )
            if isinstance(cmd, RebuildCounters):
                return self.rebuilds.start(cmd, actor)
            return await self._write_command(cmd, actor, fresh)
        except BackendError as err:
            self._note_failure(err.sentence) if not isinstance(err, Conflict) else None
            self.trail.record(
                AuditEvent(
                    t=self.clock.now(),
                    actor=actor,
                    target=target,
                    action=f"{_action(cmd)}-refused",
                    reason=err.sentence,
                    level=Level.WARN,
                )
            )
            return Result(False, err.sentence, target)

    async def _write_command(self, cmd: Command, actor: str, fresh: Preview) -> Result:
        if isinstance(cmd, KillFlag) and not cmd.reason.strip():
            return Result(
                False,
                f"Say why flag {cmd.name} is killed: the reason goes to the audit log.",
                _target(cmd),
                details={"errors": {"reason": "A reason is required."}},
            )
        for _ in range(ATTEMPTS if not isinstance(cmd, SaveFlag) else 1):
            kind, name = subject(cmd)
            stored = await self._read(kind, name)
            if (
                isinstance(cmd, SaveFlag)
                and cmd.expected_version is not None
                and stored.version != cmd.expected_version
            ):
                return await self._save_conflict(cmd, stored)
            if isinstance(cmd, SetExperimentStatus):
                edit = flag_edits.set_status(stored.text or "", name, cmd.status)
            elif stored.text is None and not isinstance(cmd, SaveFlag):
                return Result(False, f"Flag {name} no longer exists.", _target(cmd))
            else:
                edit, _ = await self._flag_edit(cmd, stored, by=actor)  # type: ignore[arg-type]
            if edit.problem:
                return Result(False, edit.problem, _target(cmd))
            event = AuditEvent(
                t=self.clock.now(),
                actor=actor,
                target=_target(cmd),
                action=_action(cmd, created=stored.text is None),
                reason=reason_of(cmd),
                before=edit.before,
                after=edit.after,
                level=Level.WARN if isinstance(cmd, KillFlag) else Level.INFO,
            )
            try:
                version = await self._write(kind, name, edit.text, stored.version, event)
            except Conflict:
                if isinstance(cmd, SaveFlag):
                    return await self._save_conflict(cmd, await self._read(kind, name))
                continue  # off is off: re-read and apply again
            self._note_ok()
            return Result(True, _done(cmd, edit), _target(cmd), details={"version": version, "after": edit.after})
        return Result(
            False,
            f"{_what(cmd).capitalize()} kept changing while Shiftroom wrote it; try again.",
            _target(cmd),
            stale=True,
        )

    def _other_change(self, cmd: SaveFlag, stored: _Stored) -> str:
        """What someone else changed between the version `cmd` expects and `stored`, in a few words."""
        base = self._seen.get(("flag", cmd.name, cmd.expected_version or ""))
        if stored.text is None:
            return "it was deleted"
        if cmd.expected_version == NEW_VERSION:
            return "someone created it meanwhile"
        if base is not None:
            return describe_changes(_config(base), _config(stored.text)) or "it was rewritten with the same values"
        return "someone else saved it"

    async def _save_conflict(self, cmd: SaveFlag, stored: _Stored) -> Result:
        read = await self.read_flag(cmd.name)
        change = self._other_change(cmd, stored)
        fresh = await self.preview(cmd)
        return Result(
            False,
            f"Flag {cmd.name} was changed since you opened it ({change}); your edits were not "
            "saved, review them against the new version and save again.",
            _target(cmd),
            stale=True,
            preview=fresh,
            details={"current": read.config, "version": read.version, "other_change": change},
        )

    # ------------------------------------------------------------ store access
    def _refusal(self, what: str) -> str | None:
        if self.store is None:
            return f"This room has no flag store, so {what} cannot be changed."
        if self.read_only:
            return f"This room is read-only, so {what} cannot be changed."
        return None

    async def _read(self, kind: str, name: str) -> _Stored:
        assert self.store is not None
        if self.raw is not None:
            get = self.raw.get_flag_bytes if kind == "flag" else self.raw.get_experiment_bytes
            raw, version = await get(name)
            return self._remember(kind, name, _Stored(rawjson.decode(raw) if raw is not None else None, version))
        if kind == "flag":
            value, version = await self.store.get_flag_raw(name)
        elif self.experiment_writes is not None:
            value, version = await self.experiment_writes.get_experiment_raw(name)
        else:
            return _Stored(None, "")
        return self._remember(kind, name, _Stored(json.dumps(value) if value is not None else None, version))

    def _remember(self, kind: str, name: str, stored: _Stored) -> _Stored:
        if stored.text is not None and len(stored.text) < 65536:
            self._seen[(kind, name, stored.version)] = stored.text
            self._seen.move_to_end((kind, name, stored.version))
            while len(self._seen) > 256:
                self._seen.popitem(last=False)
        return stored

    async def _write(self, kind: str, name: str, text: str, version: str, event: AuditEvent) -> str:
        assert self.store is not None
        if self.raw is not None:
            put = self.raw.put_flag_bytes if kind == "flag" else self.raw.put_experiment_bytes
            new = await put(name, rawjson.encode(text), version, event if self.audited else None)
        else:
            value, problem = rawjson.parse(text)
            if problem:
                raise Conflict(self.store.name, f"The {kind} {name} cannot be written by this store: {problem}.")
            if kind == "flag":
                new = await self.store.put_flag_raw(name, value, version)
            else:
                assert self.experiment_writes is not None
                new = await self.experiment_writes.put_experiment_raw(name, value, version)
        self.trail.record(event, stored=self.raw is not None and self.audited)
        return new


__all__ = ["STATUSES", "FlagRead", "StoreDesk"]
