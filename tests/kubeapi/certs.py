"""Certificates for the test API server over TLS, made with the `openssl` command line.

    ca = CertAuthority.create(directory)           # a client CA and the server's own certificate (IP 127.0.0.1)
    cert, key = ca.client_cert("robot", ["system:masters"], seconds=3.0)   # PEM bytes, valid 3 s from now

A client certificate's subject is how kube-apiserver names the user: CN the user name, each O a group
(Authenticating: X509 client certificates). Serials are random, so a test can revoke one (`serial_of`).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_CA_CONFIG = """\
[ ca ]
default_ca = test
[ test ]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
organizationName = optional
"""
_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def _openssl(*args: str, cwd: Path | None = None) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]}: {done.stderr.decode(errors='replace').strip()}")


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ")


@dataclass(frozen=True)
class CertAuthority:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "client-ca.crt"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @classmethod
    def create(cls, directory: Path) -> CertAuthority:
        directory.mkdir(parents=True, exist_ok=True)
        ca = cls(directory)
        ec = " ".join(_EC)
        _openssl(*f"req -x509 {ec} -keyout client-ca.key -out client-ca.crt -subj /CN=test-client-ca -days 1".split(),
                 cwd=directory)  # fmt: skip
        _openssl(*f"req -x509 {ec} -keyout server.key -out server.crt -subj /CN=kubeapi-test -days 1".split(),
                 "-addext", "subjectAltName=IP:127.0.0.1", cwd=directory)  # fmt: skip
        return ca

    def client_cert(self, user: str, groups: Iterable[str] = (), seconds: float = 3600.0) -> tuple[bytes, bytes]:
        """(certificate, private key) as PEM, valid from a minute ago until `seconds` from now."""
        now = dt.datetime.now(dt.UTC)
        subject = "/CN=" + user + "".join(f"/O={g}" for g in groups)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "ca.cnf").write_text(_CA_CONFIG)
            (work / "index.txt").write_text("")
            _openssl("req", *_EC, "-keyout", "c.key", "-out", "c.csr", "-subj", subject, cwd=work)
            _openssl(
                "ca",
                "-config",
                "ca.cnf",
                "-batch",
                "-notext",
                "-rand_serial",
                "-cert",
                str(self.ca_cert),
                "-keyfile",
                str(self.directory / "client-ca.key"),
                "-in",
                "c.csr",
                "-out",
                "c.crt",
                "-startdate",
                _stamp(now - dt.timedelta(minutes=1)),
                "-enddate",
                _stamp(now + dt.timedelta(seconds=seconds)),
                cwd=work,
            )
            return (work / "c.crt").read_bytes(), (work / "c.key").read_bytes()


def serial_of(cert: bytes) -> str:
    """The certificate's serial as upper-case hex (what `ssl` reports as `serialNumber`)."""
    out = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=cert, check=True, capture_output=True)
    return out.stdout.decode().strip().split("=", 1)[1].upper()
