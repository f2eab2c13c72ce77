"""The store from the command line: `shiftroom audit`, `flags`, `experiments`, and their verbs.

- `shiftroom audit [--json] [--verify]` prints the Redis audit stream; with
  `--verify` (needs `audit.key_file`) every entry is marked verified or not
  (unsigned, altered, or its predecessor missing from the chain); exit 1 when one is not.
- `shiftroom flags [--json]` / `shiftroom experiments [--json]` list every
  stored object with its validity and reason, on a real Redis (`--redis URL`,
  `redis.url`, `SHIFTROOM_REDIS_URL`) or on the simulator's store.
- `shiftroom flags kill NAME --reason TEXT [--yes]` and `flags restore NAME`
  go through the same `StoreDesk` and `AuditTrail` the room's engine uses.
- `shiftroom experiments import FILE` imports the seed's ConfigMap.

Everything printed that came from the store passes `app.sanitize.clean`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.sanitize import clean

if TYPE_CHECKING:
    from app.config import Config

COMMANDS = ("audit", "experiments", "flags")


class StoreCommandError(Exception):
    """One sentence for the user; exit code 2."""


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = sub.add_parser("audit", help="print the audit trail (Redis stream shiftroom:audit)")
    audit.add_argument("--redis", default=None, metavar="URL", help="Redis URL (or config / SHIFTROOM_REDIS_URL)")
    audit.add_argument("--limit", type=int, default=200, help="newest N events (default 200)")
    audit.add_argument("--json", action="store_true", help="one JSON array")
    audit.add_argument(
        "--verify", action="store_true", help="check every entry's signature and chain (needs audit.key_file)"
    )

    flags = sub.add_parser("flags", help="list flags with their validity; kill or restore one")
    _store_args(flags)
    flags_sub = flags.add_subparsers(dest="flags_command", parser_class=sub._parser_class)
    kill = flags_sub.add_parser("kill", help="turn a flag off for everyone, everywhere (restorable)")
    kill.add_argument("name")
    kill.add_argument("--reason", required=True, help="why: goes to the audit log")
    kill.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _store_args(kill)
    restore = flags_sub.add_parser("restore", help="bring back the values a kill saved")
    restore.add_argument("name")
    restore.add_argument("--reason", default="", help="why: goes to the audit log")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _store_args(restore)

    exp = sub.add_parser("experiments", help="list experiments with their validity; import the seed's")
    _store_args(exp)
    exp_sub = exp.add_subparsers(dest="experiments_command", parser_class=sub._parser_class)
    imp = exp_sub.add_parser("import", help="import the seed's ConfigMap or experiments.json")
    imp.add_argument("file", help="a ConfigMap YAML (data.experiments.json) or an experiments.json")
    imp.add_argument("--redis", default=None, metavar="URL")
    imp.add_argument("--overwrite", action="store_true", help="replace experiments that differ")


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--redis", default=None, metavar="URL", help="Redis URL; without one, the simulator's store")
    p.add_argument("--json", action="store_true", help="JSON instead of lines")


def audit_key(config: Config) -> bytes | None:
    """The contents of `audit.key_file`, or None when it is not set."""
    path = config.audit.key_file
    if not path:
        return None
    try:
        key = Path(path).expanduser().read_bytes().strip()
    except OSError as exc:
        raise StoreCommandError(
            f"shiftroom: cannot read audit.key_file {path}: {(exc.strerror or str(exc)).lower()}."
        ) from None
    if len(key) < 16:
        raise StoreCommandError(
            f"shiftroom: audit.key_file {path} holds {len(key)} bytes; use at least 16 "
            "random bytes (e.g. `head -c 32 /dev/urandom | base64`)."
        )
    return key


def _redis_url(args: argparse.Namespace, config: Config, required: bool = True) -> str | None:
    url = args.redis or (config.redis.url if config.redis else None)
    if not url and required:
        raise StoreCommandError(
            "shiftroom: no Redis to read: pass --redis URL, set SHIFTROOM_REDIS_URL, "
            "or add redis.url to shiftroom.yaml."
        )
    return url


def run(args: argparse.Namespace, config: Config) -> int:
    from backends.base import BackendError

    try:
        if args.command == "audit":
            return asyncio.run(_audit(args, config))
        if args.command == "experiments" and getattr(args, "experiments_command", None) == "import":
            url = _redis_url(args, config)
            assert url is not None
            return asyncio.run(_import(url, Path(args.file), args.overwrite))
        return asyncio.run(_store_command(args, config))
    except BackendError as err:
        raise StoreCommandError(f"shiftroom: {err.sentence}") from None


async def _audit(args: argparse.Namespace, config: Config) -> int:
    from app.audit import event_to_json, format_event
    from backends.redis import read_audit

    key = audit_key(config)
    if args.verify and key is None:
        raise StoreCommandError(
            "shiftroom: --verify needs audit.key_file in shiftroom.yaml (the key the entries were signed with)."
        )
    url = _redis_url(args, config)
    assert url is not None
    entries = await read_audit(url, args.limit, key=key if args.verify else None)
    bad = 0
    out: list[dict[str, Any]] = []
    for c in entries:
        bad += bool(c.problem)
        if args.json:
            out.append({**event_to_json(c.event), "id": c.entry_id, "problem": c.problem})
            continue
        mark = "" if not args.verify else ("ok " if not c.problem else f"UNVERIFIED ({c.problem}) ")
        print(clean(mark + format_event(c.event)))
    if args.json:
        print(json.dumps(out))
    return 1 if args.verify and bad else 0


async def _import(url: str, path: Path, overwrite: bool) -> int:
    from backends.redis import RedisStore

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise StoreCommandError(f"shiftroom: cannot read {path}: {(why or str(exc)).lower()}.") from None
    store = RedisStore(url)
    try:
        result = await store.import_experiments(text, overwrite=overwrite)
    finally:
        await store.aclose()
    for exp_id, what in sorted(result.items()):
        print(clean(f"{exp_id}: {what}"), file=sys.stdout)
    return 0


async def _store_command(args: argparse.Namespace, config: Config) -> int:
    async with open_desk(_redis_url(args, config, required=False), audit_key(config)) as desk:
        if args.command == "flags" and getattr(args, "flags_command", None) in ("kill", "restore"):
            return await _flag_verb(desk, args)
        flags, experiments = await desk.refresh()
        if desk.health is not None and desk.health.reason:
            raise StoreCommandError(f"shiftroom: {desk.health.reason}")
        rows = [_flag_row(f) for f in flags] if args.command == "flags" else [_exp_row(e) for e in experiments]
        if args.json:
            print(json.dumps(rows))
        else:
            for row in rows:
                state = "valid" if row["valid"] else "INVALID"
                print(clean(f"{row['name']:<32} {state:<8} {row['summary'] if row['valid'] else row['error']}"))
        return 0


def _flag_row(f: Any) -> dict[str, Any]:
    summary = (
        f"enabled={str(f.enabled).lower()} percentage={f.percentage:g} "
        f"environments={','.join(f.environments) if f.environments is not None else 'all'} "
        f"whitelist={len(f.user_whitelist)}"
    )
    return {
        "name": f.name,
        "valid": f.valid,
        "error": f.error,
        "summary": summary if f.valid else "",
        "enabled": f.enabled,
        "percentage": f.percentage,
        "environments": list(f.environments) if f.environments is not None else None,
        "userWhitelist": list(f.user_whitelist),
    }


def _exp_row(e: Any) -> dict[str, Any]:
    summary = f"status={e.status} variants={','.join(v.name for v in e.variants)} users={e.users}" + (
        " needs-rebuild" if e.needs_rebuild else ""
    )
    return {
        "name": e.id,
        "valid": not e.error,
        "error": e.error,
        "summary": summary if not e.error else "",
        "status": e.status,
        "users": e.users,
        "needs_rebuild": e.needs_rebuild,
    }


async def _flag_verb(desk: Any, args: argparse.Namespace) -> int:
    from app.control.commands import KillFlag, RestoreFlag
    from app.identity import operator

    cmd = KillFlag(args.name, args.reason) if args.flags_command == "kill" else RestoreFlag(args.name, args.reason)
    preview = await desk.preview(cmd)
    if not preview.possible:
        raise StoreCommandError(f"shiftroom: {preview.lines[0] if preview.lines else 'not possible now.'}")
    if not args.yes:
        print(clean(preview.title))
        for line in preview.lines:
            print(clean(f"  {line}"))
        if not sys.stdin.isatty():
            raise StoreCommandError(
                f"shiftroom: confirm with --yes to {args.flags_command} flag {clean(args.name)} without a terminal."
            )
        typed = input(f"Type the flag's name to {args.flags_command} it: ")
        if typed != args.name:
            raise StoreCommandError(f"shiftroom: the name did not match; flag {clean(args.name)} was not changed.")
    result = await desk.execute(cmd, preview, operator())
    await desk.trail.flush()
    if not result.ok:
        raise StoreCommandError(f"shiftroom: {result.message}")
    print(clean(result.message))
    if desk.trail.queued:
        print(
            clean(
                f"audit: {desk.trail.queued} entries queued in {desk.trail.spool.path}; they are delivered when "
                "the audit log answers again."
            ),
            file=sys.stderr,
        )
    return 0


@asynccontextmanager
async def open_desk(url: str | None, key: bytes | None) -> AsyncIterator[Any]:
    """A `StoreDesk` exactly as the engine builds one, on Redis at `url` or on the simulator's store."""
    from app.clock import RealClock
    from app.control.audit_trail import AuditTrail
    from app.control.jobs import JobBoard
    from app.control.store_desk import StoreDesk
    from app.identity import instance

    clock = RealClock()
    if url:
        from backends.redis import RedisStore

        store: Any = RedisStore(url, clock=clock, audit_key=key)
        audit: Any = store.audit
    else:
        from backends.sim.store import AuditedSimStore, SimAudit

        audit = SimAudit()
        store = AuditedSimStore(clock, audit)
    trail = AuditTrail(audit, clock=clock)
    desk = StoreDesk(store, trail, JobBoard(clock), clock, read_only=False, instance=instance())
    try:
        yield desk
    finally:
        if url:
            await store.aclose()
