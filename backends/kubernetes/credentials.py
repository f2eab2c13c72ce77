"""Credentials that expire during a long session, refreshed before they do (and once more on a 401).

What kubernetes-asyncio 36.1.0 does by itself (its `config/` package):

- a kubeconfig `exec` plugin (aws, gke-gcloud-auth-plugin, kubelogin, ...) is run once by
  `KubeConfigLoader.load_and_set`; the token is never renewed unless the caller also runs
  `config.refresh_token(loader, configuration)`, a loop that asks the loader every 60 s (and the loader
  treats a credential as expired 5 minutes before its `expirationTimestamp`); a client certificate the
  plugin returns instead (`clientCertificateData`, `clientKeyData`) is written to temporary files, loaded
  into the connection pool's TLS context once, and never renewed;
- a kubeconfig `token` or `tokenFile` is read once;
- in a Pod, `load_incluster_config` sets `Configuration.refresh_api_key_hook` to re-read the projected
  service-account token when a minute has passed since it last read it (what client-go does);
- a `401 Unauthorized` is returned to the caller as it is: nothing re-authenticates.

Here a `Refresher` is that same hook (the library awaits it before every request it authenticates),
over one of two sources:

- `ExecSource`: the plugin is run again shortly before its credential's `expirationTimestamp`
  (at most 30 s, and at most a fifth of the credential's life, before it), with `KUBERNETES_EXEC_INFO`
  saying the session is not interactive and stdin closed, so a plugin never reads the room's keys. A
  client certificate ends at its expirationTimestamp or its own notAfter, whichever is first; a new one
  goes to new private files (`client_certs.CertFiles`) and `Api` builds a new connection pool with it
  (a request never authenticates by bearer token then, so `Api` asks `ensure()` before each request);
- `FileSource`: the token file (kubeconfig `tokenFile`, or the in-cluster service account's) is read
  again every `period` seconds (60, as client-go).

`Api` asks `force()` after a 401 (or, with a client certificate, a read whose connection the server closed
unanswered, as after a TLS handshake that refused the certificate):
one re-authentication for all the requests that failed with the same credential, then each is sent once
more. A plugin that fails, or a file that cannot be read, is one
sentence; the credential held stays in use until it expires.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.kubernetes.client_certs import CertFiles, not_after
from backends.kubernetes.errors import NAME, Unauthorized

EXEC_SKEW = 30.0  # seconds before expirationTimestamp an exec credential is renewed (at most)
FILE_PERIOD = 60.0  # seconds between two reads of a token file (client-go's period)
RETRY_AFTER = 5.0  # seconds before a failed refresh is tried again
EXEC_TIMEOUT = 60.0


class CredentialError(Unauthorized):
    """The credential could not be renewed (the plugin failed, the token file is unreadable)."""

    def __init__(self, backend: str, sentence: str) -> None:
        super().__init__(backend, sentence[:1].upper() + sentence[1:])


def parse_time(text: str) -> float:
    """An RFC 3339 time (`2026-01-01T00:00:00Z`, fractions and offsets too) as epoch seconds."""
    value = text.strip().replace("z", "Z")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    stamp = dt.datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


@dataclass(frozen=True)
class Issued:
    """A credential: a bearer token, or a client certificate and its key (PEM); expiry in epoch seconds."""

    token: str = ""
    cert: bytes = b""
    key: bytes = b""
    expiry: float | None = None


@dataclass
class ExecSource:
    """A kubeconfig `user.exec` plugin (client.authentication.k8s.io ExecCredential)."""

    command: str
    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    api_version: str = "client.authentication.k8s.io/v1"
    timeout: float = EXEC_TIMEOUT

    @classmethod
    def from_config(cls, exec_config: Mapping[str, Any]) -> ExecSource:
        env = {str(e["name"]): str(e["value"]) for e in exec_config.get("env") or [] if isinstance(e, Mapping)}
        return cls(
            command=str(exec_config["command"]),
            args=[str(a) for a in exec_config.get("args") or []],
            env=env,
            api_version=str(exec_config.get("apiVersion") or cls.api_version),
        )

    @property
    def what(self) -> str:
        return f"the kubeconfig exec plugin {Path(self.command).name!r}"

    async def fetch(self) -> Issued:
        info = {"apiVersion": self.api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
        env = {**os.environ, **self.env, "KUBERNETES_EXEC_INFO": json.dumps(info)}
        try:
            proc = await asyncio.create_subprocess_exec(
                self.command,
                *self.args,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise CredentialError(NAME, f"Cannot run {self.what}: {exc.strerror or exc}.") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise CredentialError(NAME, f"{self.what} did not answer within {self.timeout:g} s.") from None
        if proc.returncode != 0:
            why = " ".join(err.decode("utf-8", "replace").split())[:200]
            raise CredentialError(
                NAME, f"{self.what} exited with code {proc.returncode}" + (f": {why}" if why else "") + "."
            )
        return self._parse(out)

    def _parse(self, out: bytes) -> Issued:
        try:
            body = json.loads(out)
        except ValueError:
            raise CredentialError(NAME, f"{self.what} printed something that is not JSON.") from None
        status = body.get("status") if isinstance(body, dict) else None
        if not isinstance(status, dict) or body.get("kind") != "ExecCredential":
            raise CredentialError(NAME, f"{self.what} printed no ExecCredential with a status.")
        expiry = status.get("expirationTimestamp")
        try:
            when = parse_time(expiry) if isinstance(expiry, str) and expiry else None
        except ValueError:
            raise CredentialError(NAME, f"{self.what} returned an expirationTimestamp that is not a time.") from None
        token, cert, key = (status.get(k) for k in ("token", "clientCertificateData", "clientKeyData"))
        if isinstance(token, str) and token:
            return Issued(token=token, expiry=when)
        if not (isinstance(cert, str) and cert and isinstance(key, str) and key):
            raise CredentialError(NAME, f"{self.what} returned neither a token nor a client certificate with its key.")
        ends = not_after(cert.encode())
        if ends is None:
            raise CredentialError(NAME, f"{self.what} returned a clientCertificateData that is not a PEM certificate.")
        return Issued(cert=cert.encode(), key=key.encode(), expiry=min(ends, when or ends))


@dataclass
class FileSource:
    """A token file: kubeconfig `user.tokenFile`, or the in-cluster service account's projected token."""

    path: Path
    period: float = FILE_PERIOD

    @property
    def what(self) -> str:
        return f"the token file {self.path}"

    async def fetch(self) -> Issued:
        try:
            token = self.path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CredentialError(NAME, f"Cannot read {self.what}: {(exc.strerror or str(exc)).lower()}.") from None
        if not token:
            raise CredentialError(NAME, f"{self.what} is empty.")
        return Issued(token=token)


Source = ExecSource | FileSource


class Refresher:
    """The configuration's `refresh_api_key_hook`: keeps `api_key["BearerToken"]` fresh, or the client
    certificate files `cert_file`/`key_file` (then `cert_generation` says when a pool must be rebuilt)."""

    def __init__(
        self,
        source: Source,
        token: str = "",
        expiry: float | None = None,
        now: Callable[[], float] = time.time,
        configuration: Any = None,
    ) -> None:
        self.source = source
        self.now = now
        self.token = token.removeprefix("Bearer ").strip()
        self.expiry = expiry
        self.configuration = configuration
        self.files = CertFiles()
        self.certificate = False  # the credential is a client certificate (in `files`)
        self.generation = 0  # bumped by every renewal: which credential a failed request carried
        self.cert_generation = 0  # bumped by every new client certificate
        self.renewals = 0
        self._fetched = now()
        self._failed: tuple[float, CredentialError] | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------ when

    def held(self) -> bool:
        return bool(self.token) or self.certificate

    def due(self) -> bool:
        if not self.held():
            return True
        if isinstance(self.source, FileSource):
            return self.now() >= self._fetched + self.source.period
        if self.expiry is None:
            return False  # a plugin credential without expiry lasts until a 401 says otherwise
        skew = min(EXEC_SKEW, max(0.0, self.expiry - self._fetched) / 5)
        return self.now() >= self.expiry - skew

    def expired(self) -> bool:
        return not self.held() or (self.expiry is not None and self.now() >= self.expiry)

    # ------------------------------------------------------------ the hook

    async def __call__(self, configuration: Any) -> None:
        await self.ensure()
        if self.token:
            configuration.api_key["BearerToken"] = f"Bearer {self.token}"

    async def ensure(self) -> None:
        """Renew the credential if it is due; a failure only once the credential held has expired."""
        if self.due():
            try:
                await self._renew_if_due()
            except CredentialError:
                if self.expired():
                    raise
                # the credential held still works: keep it, and try again later

    async def _renew_if_due(self) -> None:
        async with self._locked():
            if self.due():  # not renewed meanwhile by a request that waited for the lock first
                await self._renew()

    async def force(self, generation: int) -> None:
        """After a 401 with credential `generation`: renew it, unless another request already did."""
        async with self._locked():
            if generation == self.generation:
                self._failed = None
                await self._renew()

    async def _renew(self) -> None:
        if self._failed is not None and self.now() < self._failed[0] + RETRY_AFTER:
            raise self._failed[1]
        try:
            issued = await self.source.fetch()
        except CredentialError as err:
            self._failed = (self.now(), err)
            raise
        self._failed = None
        self.hold(issued)
        self.generation += 1
        self.renewals += 1

    def hold(self, issued: Issued) -> None:
        """Use `issued` from now on (a certificate: written to private files the configuration points at)."""
        self.token, self.expiry, self._fetched = issued.token, issued.expiry, self.now()
        cfg = self.configuration
        if issued.cert:
            self.certificate = True
            cert, key = self.files.write(issued.cert, issued.key)
            self.cert_generation += 1
            if cfg is not None:
                cfg.cert_file, cfg.key_file = cert, key
                (cfg.api_key or {}).pop("BearerToken", None)
        else:
            if self.certificate and cfg is not None:
                cfg.cert_file = cfg.key_file = None
                self.cert_generation += 1
            self.certificate = False
            self.files.remove()

    def _locked(self) -> asyncio.Lock:
        """One lock per event loop (the preflight and the room run in different loops)."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock


def refresher_of(configuration: Any) -> Refresher | None:
    hook = getattr(configuration, "refresh_api_key_hook", None)
    return hook if isinstance(hook, Refresher) else None


def install(configuration: Any, source: Source, expiry: float | None = None) -> Refresher:
    """Put a `Refresher` over `source` on `configuration`, seeded with the token it already holds."""
    held = str((configuration.api_key or {}).get("BearerToken") or "")
    refresher = Refresher(source, held, expiry, configuration=configuration)
    configuration.refresh_api_key_hook = refresher
    return refresher


def _take_over_certificate(configuration: Any, source: ExecSource) -> Refresher | None:
    """The client certificate the loader got from the plugin: moved into the refresher's private files."""
    try:
        cert = Path(configuration.cert_file).read_bytes()
        key = Path(configuration.key_file).read_bytes()
    except (OSError, TypeError):
        return None
    refresher = install(configuration, source)
    old = (configuration.cert_file, configuration.key_file)
    refresher.hold(Issued(cert=cert, key=key, expiry=not_after(cert)))
    for path in old:
        Path(path).unlink(missing_ok=True)  # the loader's temporary copies
    return refresher


def from_kubeconfig(configuration: Any, merged: Any, context: Mapping[str, Any], exec_expiry: Any) -> None:
    """After the loader ran: renew an exec plugin's token, or re-read a `tokenFile`, for the context's user.

    `merged` is the `KubeConfigMerger` (its `config` keeps each entry's file, for relative paths);
    `exec_expiry` the loader's `exec_plugin_expiry` (a datetime, or None)."""
    user_name = (context.get("context") or {}).get("user")
    users = merged.config.safe_get("users")
    if not user_name or not users:
        return
    entry = merged.config["users"].get_with_name(user_name, safe=True)
    user = (entry.value.get("user") if entry is not None else None) or {}
    if not isinstance(user, dict):
        return
    held = (configuration.api_key or {}).get("BearerToken")
    if isinstance(user.get("exec"), dict) and held:
        expiry = exec_expiry.timestamp() if isinstance(exec_expiry, dt.datetime) else None
        install(configuration, ExecSource.from_config(user["exec"]), expiry)
    elif isinstance(user.get("exec"), dict) and getattr(configuration, "cert_file", None):
        _take_over_certificate(configuration, ExecSource.from_config(user["exec"]))
    elif user.get("tokenFile") and not user.get("token"):
        path = Path(str(user["tokenFile"])).expanduser()
        if not path.is_absolute() and entry is not None and entry.path:
            path = Path(entry.path).parent / path
        install(configuration, FileSource(path))
