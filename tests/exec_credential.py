"""A kubeconfig `exec` credential plugin for the tests (client.authentication.k8s.io/v1).

    python tests/exec_credential.py STATE_DIR

Each run prints an ExecCredential with a new token `exec-<n>` (n counts the runs) and appends it to
STATE_DIR/issued.jsonl, which the test API server reads to accept it (`accept_issued_tokens`). Files
in STATE_DIR the test may write: `lifetime` (seconds until expirationTimestamp; without it the
credential has none), `fail` (the run exits 1 with that text on stderr). The plugin writes `runs`
(the count) and `exec_info.json` (the KUBERNETES_EXEC_INFO it was given).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path


def main(state: Path) -> int:
    fail = state / "fail"
    if fail.exists():
        print(fail.read_text(encoding="utf-8"), file=sys.stderr)
        return 1
    runs = state / "runs"
    n = int(runs.read_text(encoding="utf-8")) + 1 if runs.exists() else 1
    runs.write_text(str(n), encoding="utf-8")
    (state / "exec_info.json").write_text(os.environ.get("KUBERNETES_EXEC_INFO", ""), encoding="utf-8")
    status: dict[str, str] = {"token": f"exec-{n}"}
    lifetime = state / "lifetime"
    if lifetime.exists():
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=float(lifetime.read_text(encoding="utf-8")))
        status["expirationTimestamp"] = expiry.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with open(state / "issued.jsonl", "a", encoding="utf-8") as issued:
        issued.write(json.dumps(status) + "\n")
    print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": status}))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
