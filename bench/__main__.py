"""`python -m bench` (`make bench`): every benchmark, then a short summary."""

from __future__ import annotations

import sys
import time

from bench import (
    canary_timing,
    cluster_reads,
    first_frame,
    flag_eval,
    kube_requests,
    prometheus_batch,
    redis_results,
    terminal_bytes,
    wall,
)


def main() -> int:
    started = time.perf_counter()
    summaries: list[str] = []
    failed = False
    for name, module in (
        ("canary_timing", canary_timing),
        ("first_frame", first_frame),
        ("terminal_bytes", terminal_bytes),
        ("prometheus_batch", prometheus_batch),
        ("redis_results", redis_results),
        ("flag_eval", flag_eval),
        ("wall", wall),
        ("cluster_reads", cluster_reads),
        ("kube_requests", kube_requests),
    ):
        print(f"== {name}", flush=True)
        try:
            m = module.measure()
        except SystemExit as err:  # the app under test crashed or never painted: say so, go on
            print(err, flush=True)
            summaries.append(f"{name}: no figure, the run failed (see above)")
            failed = True
            print()
            continue
        print("\n".join(module.report(m)), flush=True)
        summaries.append(module.summary(m))
        print()
    print(f"== summary ({time.perf_counter() - started:.0f} s)")
    for line in summaries:
        print(f"- {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
