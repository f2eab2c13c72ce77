"""A client certificate an exec plugin returned: its end of validity, and the private files it is read from.

The client library loads a client certificate from files (`Configuration.cert_file`, `key_file`) when it
builds a connection pool's TLS context. `CertFiles` writes each pair into one private directory
(0700, files 0600), deletes a pair once another replaces it, and everything at exit.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_PEM_END = b"-----END CERTIFICATE-----"


def _der(pem: bytes) -> bytes:
    start = pem.find(_PEM_BEGIN)
    end = pem.find(_PEM_END, start)
    if start < 0 or end < 0:
        return b""
    try:
        return base64.b64decode(b"".join(pem[start + len(_PEM_BEGIN) : end].split()))
    except binascii.Error:
        return b""


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of the content, end of the content) of the DER element at `at`."""
    tag, size = data[at], data[at + 1]
    at += 2
    if size & 0x80:
        count = size & 0x7F
        size = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + size > len(data):
        raise ValueError("truncated")
    return tag, at, at + size


def _asn1_time(tag: int, text: str) -> float:
    fmt = "%y%m%d%H%M%SZ" if tag == 0x17 else "%Y%m%d%H%M%SZ"  # UTCTime, GeneralizedTime
    return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC).timestamp()


def not_after(pem: bytes) -> float | None:
    """The first certificate's notAfter (epoch seconds), or None when it cannot be read (RFC 5280 4.1)."""
    data = _der(pem)
    try:
        _, cert, _ = _tlv(data, 0)
        _, at, _ = _tlv(data, cert)  # tbsCertificate
        if data[at] == 0xA0:  # [0] version
            at = _tlv(data, at)[2]
        for _ in range(3):  # serialNumber, signature, issuer
            at = _tlv(data, at)[2]
        _, validity, _ = _tlv(data, at)
        after = _tlv(data, _tlv(data, validity)[2])
        return _asn1_time(after[0], data[after[1] : after[2]].decode("ascii"))
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


class CertFiles:
    """The current client certificate and key, as files only this user can read."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._count = 0
        self.cert = ""
        self.key = ""

    def write(self, cert: bytes, key: bytes) -> tuple[str, str]:
        """Write a new pair, delete the previous one; the new (cert path, key path)."""
        if self._dir is None or not self._dir.is_dir():
            self._dir = Path(tempfile.mkdtemp(prefix="shiftroom-client-cert-"))
            atexit.register(self.remove)
        self._count += 1
        previous = (self.cert, self.key)
        self.cert = self._private(f"client-{self._count}.crt", cert)
        self.key = self._private(f"client-{self._count}.key", key)
        for path in previous:
            if path:
                Path(path).unlink(missing_ok=True)
        return self.cert, self.key

    def _private(self, name: str, data: bytes) -> str:
        assert self._dir is not None
        path = self._dir / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return str(path)

    def remove(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._dir, self.cert, self.key = None, "", ""
