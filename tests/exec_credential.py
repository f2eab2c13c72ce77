"""A kubeconfig `exec` credential plugin for the tests (client.authentication.k8s.io/v1).

    python tests/exec_credential.py STATE_DIR

Each run prints an ExecCredential with a new token `exec-<n>` (n counts the runs) and appends it to
STATE_DIR/issued.jsonl, which the test API server reads to accept it (`accept_issued_tokens`). Files
in STATE_DIR the test may write: `lifetime` (seconds until expirationTimestamp; without it the
credential has none), `fail` (the run exits 1 with that text on stderr), `ca` (the directory of a
tests/kubeapi/certs.py `CertAuthority`: the run returns a new client certificate for user `robot`, group
system:masters, valid `lifetime` seconds (default an hour), instead of a token; `no_expiry`: without an
expirationTimestamp, the certificate's own notAfter then says when it ends). The plugin writes `runs`
(the count), `exec_info.json` (the KUBERNETES_EXEC_INFO it was given) and `cert.pem` (the last certificate).
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
    seconds = float(lifetime.read_text(encoding="utf-8")) if lifetime.exists() else None
    if (state / "ca").exists():
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.kubeapi.certs import CertAuthority

        ca = CertAuthority(Path((state / "ca").read_text(encoding="utf-8").strip()))
        cert, key = ca.client_cert("robot", ["system:masters"], seconds if seconds is not None else 3600.0)
        (state / "cert.pem").write_bytes(cert)
        status = {"clientCertificateData": cert.decode(), "clientKeyData": key.decode()}
        if (state / "no_expiry").exists():
            seconds = None
    if seconds is not None:
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        status["expirationTimestamp"] = expiry.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with open(state / "issued.jsonl", "a", encoding="utf-8") as issued:
        issued.write(json.dumps(status) + "\n")
    print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": status}))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
