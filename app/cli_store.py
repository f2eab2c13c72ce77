"""`shiftroom audit` and `shiftroom experiments import`: the Redis data from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from app.config import Config


class StoreCommandError(Exception):
    """One sentence for the user; exit code 2."""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="print the audit trail (Redis stream shiftroom:audit)")
    audit.add_argument("--redis", default=None, metavar="URL", help="Redis URL (or config / SHIFTROOM_REDIS_URL)")
    audit.add_argument("--limit", type=int, default=200, help="newest N events (default 200)")
    audit.add_argument("--json", action="store_true", help="one JSON array")

    exp = sub.add_parser("experiments", help="manage experiments in Redis")
    exp_sub = exp.add_subparsers(dest="experiments_command", parser_class=sub._parser_class)
    imp = exp_sub.add_parser("import", help="import the seed's ConfigMap or experiments.json")
    imp.add_argument("file", help="a ConfigMap YAML (data.experiments.json) or an experiments.json")
    imp.add_argument("--redis", default=None, metavar="URL")
    imp.add_argument("--overwrite", action="store_true", help="replace experiments that differ")


def _redis_url(args: argparse.Namespace, config: Config) -> str:
    url = args.redis or (config.redis.url if config.redis else None)
    if not url:
        raise StoreCommandError("shiftroom: no Redis to read: pass --redis URL, set SHIFTROOM_REDIS_URL, "
                                "or add redis.url to shiftroom.yaml.")
    return url


def run(args: argparse.Namespace, config: Config) -> int:
    from backends.base import BackendError

    if args.command == "experiments" and args.experiments_command != "import":
        raise StoreCommandError("shiftroom: `experiments` needs a subcommand: import.")
    try:
        if args.command == "audit":
            return asyncio.run(_audit(_redis_url(args, config), args.limit, args.json))
        return asyncio.run(_import(_redis_url(args, config), Path(args.file), args.overwrite))
    except BackendError as err:
        raise StoreCommandError(f"shiftroom: {err.sentence}") from None


async def _audit(url: str, limit: int, as_json: bool) -> int:
    from app.audit import events_to_json, format_event
    from backends.redis import read_audit

    events = await read_audit(url, limit)
    if as_json:
        print(json.dumps(events_to_json(events)))
    else:
        for e in events:
            print(format_event(e))
    return 0


async def _import(url: str, path: Path, overwrite: bool) -> int:
    from backends.redis import RedisStore

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StoreCommandError(f"shiftroom: cannot read {path}: {(exc.strerror or str(exc)).lower()}.") from None
    store = RedisStore(url)
    try:
        try:
            result = await store.import_experiments(text, overwrite=overwrite)
        except ValueError as exc:
            raise StoreCommandError(f"shiftroom: {path}: {exc}") from None
    finally:
        await store.aclose()
    for exp_id, what in sorted(result.items()):
        print(f"{exp_id}: {what}", file=sys.stdout)
    return 0
