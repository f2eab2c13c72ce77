"""Flag evaluation per call: in-process against one Redis GET per call, as the seed's service does.

The seed's flag service answers `GET /api/features/:flagName` with a Redis
`GET feature:<name>`, `JSON.parse` and `evaluateFlag` on every request.
Shiftroom holds the parsed flags in memory (the engine re-reads them when its
Redis watch reports a change) and evaluates them in-process with
`app.flags.evaluate`, the seed's `evaluateFlag` bit for bit (the flag
editor's cohort preview, the kill switch's proof that a flag is off).

On one real redis-server (`tests/servers/redis.py`) holding one flag with
environments, a whitelist and a percentage (so every rule is exercised), this
times CALLS evaluations for distinct users each way, in ROUNDS alternating
rounds, and prints the median per-call time and the ratio:

- in-process: `evaluate(config, user, env)` on the already parsed config;
- per request: `GET feature:<name>` (synchronous redis-py, one round trip on
  loopback) + `json.loads` + `evaluate`;
- for reference: the bare `GET` alone, the part that is the round trip.

Both ways must take the same decisions; the bench says whether they did.

    python -m bench.flag_eval [--calls 20000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis

CALLS = 20_000
ROUNDS = 3
FLAG = "new-checkout"
CONFIG = {
    "enabled": True,
    "environments": ["production", "staging"],
    "userWhitelist": ["user-000001", "user-000002", "qa@example.com"],
    "percentage": 25,
    "public": {"variant": "streamlined"},
}
ENVIRONMENT = "production"


def users(n: int) -> list[str]:
    return [f"user-{i:06d}" for i in range(n)]


def in_process(config: Any, ids: list[str], env: str) -> tuple[float, int]:
    """Seconds for evaluating every id on the parsed config, and how many were served."""
    from app.flags import evaluate

    served = 0
    t0 = time.perf_counter()
    for uid in ids:
        served += evaluate(config, uid, env)
    return time.perf_counter() - t0, served


def per_request(client: redis.Redis, name: str, ids: list[str], env: str) -> tuple[float, int]:
    """Seconds for GET + json.loads + evaluate per id (the seed's service), and how many were served."""
    from app.flags import evaluate

    key = f"feature:{name}"
    served = 0
    t0 = time.perf_counter()
    for uid in ids:
        raw = client.get(key)
        assert raw is not None  # written before the timed loop
        served += evaluate(json.loads(raw), uid, env)
    return time.perf_counter() - t0, served


def bare_get(client: redis.Redis, name: str, n: int) -> float:
    key = f"feature:{name}"
    t0 = time.perf_counter()
    for _ in range(n):
        client.get(key)
    return time.perf_counter() - t0


def measure(calls: int = CALLS, rounds: int = ROUNDS) -> dict[str, Any]:
    from bench.redis_results import start_redis_or_exit

    ids = users(calls)
    local, remote, gets = [], [], []
    served: set[tuple[str, int]] = set()
    with tempfile.TemporaryDirectory(prefix="shiftroom-bench-") as tmp:
        server = start_redis_or_exit(tmp)
        try:
            client = server.client()
            client.set(f"feature:{FLAG}", json.dumps(CONFIG))
            stored = client.get(f"feature:{FLAG}")
            assert stored is not None  # set just above
            config = json.loads(stored)  # what the room holds, parsed once
            per_request(client, FLAG, ids[:200], ENVIRONMENT)  # connect and warm up; not timed
            for _ in range(rounds):
                dt, n = in_process(config, ids, ENVIRONMENT)
                local.append(dt / calls)
                served.add(("in-process", n))
                dt, n = per_request(client, FLAG, ids, ENVIRONMENT)
                remote.append(dt / calls)
                served.add(("per request", n))
                gets.append(bare_get(client, FLAG, calls) / calls)
            client.close()
        finally:
            server.stop(kill=True)
    counts = {n for _, n in served}
    return {
        "calls": calls,
        "rounds": rounds,
        "in_process_us": statistics.median(local) * 1e6,
        "per_request_us": statistics.median(remote) * 1e6,
        "get_us": statistics.median(gets) * 1e6,
        "served": sorted(counts),
        "agree": len(counts) == 1,
    }


def report(m: dict[str, Any]) -> list[str]:
    ratio = m["per_request_us"] / m["in_process_us"]
    served = m["served"][0] if m["agree"] else m["served"]
    return [
        f"flag evaluation, {m['calls']:,} distinct users per round, median of {m['rounds']} rounds "
        f"(flag with environments, whitelist and 25 % rollout)",
        f"  {'in-process evaluate() on the parsed flag':<48} {m['in_process_us']:>9.2f} µs/call",
        f"  {'Redis GET + json.loads + evaluate() (the seed)':<48} {m['per_request_us']:>9.2f} µs/call",
        f"  {'  of which a bare GET round trip (reference)':<48} {m['get_us']:>9.2f} µs/call",
        f"  {'ratio (per request / in-process)':<48} {ratio:>10.0f}×",
        f"  decisions: {served} of {m['calls']:,} users served "
        + ("either way, every round" if m["agree"] else "— the two ways DISAGREE"),
    ]


def summary(m: dict[str, Any]) -> str:
    return (
        f"flag evaluation: in-process {m['in_process_us']:.2f} µs/call vs Redis GET+parse+evaluate "
        f"{m['per_request_us']:.1f} µs/call ({m['per_request_us'] / m['in_process_us']:.0f}×)"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.flag_eval")
    p.add_argument("--calls", type=int, default=CALLS)
    p.add_argument("--rounds", type=int, default=ROUNDS)
    a = p.parse_args(argv)
    print("\n".join(report(measure(a.calls, a.rounds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
