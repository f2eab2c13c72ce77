"""Prometheus' HTTP API underneath `PrometheusMetrics`: one client per event loop,
auth, TLS, per-attempt timeouts, retries with exponential backoff for transient
failures (connect errors, timeouts, 502/503/504), and one-sentence reasons.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx

from backends.base import Invalid

TRANSIENT_STATUS = (502, 503, 504)
GET_LIMIT = 3000  # longer queries go in a POST body


class Failure(Exception):
    """A request that failed as a whole: `sentence` is the user-facing reason."""

    def __init__(self, sentence: str, transient: bool = True) -> None:
        super().__init__(sentence)
        self.sentence, self.transient = sentence, transient


class PrometheusHTTP:
    """The transport half of `PrometheusMetrics`; `url` never carries credentials."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        auth: tuple[str, str] | str | None = None,
        ca_file: str | None = None,
        verify: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parsed = httpx.URL(url.rstrip("/"))
        self.url = str(parsed.copy_with(username=None, password=None))
        self._base = str(parsed)
        self.timeout, self.retries, self.backoff = timeout, max(0, retries), backoff
        self._auth = auth
        self._verify: ssl.SSLContext | bool = verify
        if ca_file and verify:
            try:
                self._verify = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                why = getattr(exc, "strerror", None) or " ".join(str(exc).split())
                raise Invalid(
                    "prometheus",
                    f"The CA file {ca_file} for Prometheus cannot be used ({why}); "
                    f"check its path and that it holds PEM certificates.",
                ) from None
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            headers = {"Accept": "application/json", "User-Agent": "shiftroom"}
            auth: httpx.Auth | None = None
            if isinstance(self._auth, tuple):
                auth = httpx.BasicAuth(*self._auth)
            elif isinstance(self._auth, str) and self._auth:
                headers["Authorization"] = f"Bearer {self._auth}"
            self._client = httpx.AsyncClient(
                base_url=self._base,
                timeout=self.timeout,
                auth=auth,
                headers=headers,
                verify=self._verify,
                transport=self._transport,
                follow_redirects=True,
            )
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None

    async def __aenter__(self) -> PrometheusHTTP:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send(self, path: str, params: dict[str, str]) -> httpx.Response:
        """One request with retries for transient failures; raises `Failure`."""
        client = self._http()
        long = sum(len(v) for v in params.values()) > GET_LIMIT
        attempt = 0
        while True:
            try:
                if long:
                    resp = await client.post(path, data=params)
                else:
                    resp = await client.get(path, params=params)
                if resp.status_code not in TRANSIENT_STATUS:
                    return resp
                failure = self._http_failure(resp, path)
            except httpx.TimeoutException:
                failure = Failure(
                    f"Prometheus at {self.url} did not answer within {self.timeout:g} s; "
                    f"check that it is not overloaded or raise the timeout."
                )
            except httpx.TransportError as exc:
                failure = self._transport_failure(exc)
            if not failure.transient or attempt >= self.retries:
                raise failure
            await asyncio.sleep(self.backoff * 2**attempt)
            attempt += 1

    def _transport_failure(self, exc: httpx.TransportError) -> Failure:
        text = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
        refused = "refused" in text.lower()
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ssl.SSLError):
                why = getattr(cause, "verify_message", None) or getattr(cause, "reason", None) or text
                return Failure(
                    f"Prometheus at {self.url} failed the TLS handshake ({why}); check the CA file or the certificate.",
                    transient=False,
                )
            refused = refused or isinstance(cause, ConnectionRefusedError)
            for inner in getattr(cause, "exceptions", ()):  # anyio groups the attempts of every address
                refused = refused or isinstance(inner, ConnectionRefusedError)
            cause = cause.__cause__ or cause.__context__
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.ProxyError):
            return Failure(f"Prometheus URL {self.url} cannot be used ({text}); check the URL.", transient=False)
        if refused:
            return Failure(
                f"Prometheus at {self.url} refused the connection; "
                f"check that it is running and that the URL and port are right."
            )
        return Failure(f"Prometheus at {self.url} cannot be reached ({text}); check the URL and the network.")

    def _http_failure(self, resp: httpx.Response, path: str) -> Failure:
        code = resp.status_code
        if code in (401, 403):
            return Failure(
                f"Prometheus at {self.url} refused the credentials with HTTP {code}; "
                f"check the user and password or the bearer token.",
                transient=False,
            )
        if code == 404:
            return Failure(
                f"Prometheus at {self.url} answered HTTP 404 for {path}; check that the URL is Prometheus' base URL.",
                transient=False,
            )
        return Failure(
            f"Prometheus at {self.url} answered HTTP {code} {resp.reason_phrase}".rstrip()
            + "; check its logs and that it is healthy.",
            transient=code in TRANSIENT_STATUS,
        )

    async def _api(self, path: str, params: dict[str, str]) -> Any:
        """`data` of an API answer; raises `Failure` (PromQL errors are not transient)."""
        resp = await self._send(path, params)
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("status") == "error":
            kind = body.get("errorType") or "error"
            why = " ".join(str(body.get("error") or "no reason given").split()).rstrip(".")
            if len(why) > 240:
                why = why[:237] + "..."
            raise Failure(
                f"Prometheus at {self.url} rejected the query ({kind}: {why}); fix the metric template.",
                transient=False,
            )
        if resp.status_code >= 400:
            raise self._http_failure(resp, path)
        if not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
            raise Failure(
                f"Prometheus at {self.url} answered with something that is not its HTTP API; "
                f"check that the URL points at Prometheus.",
                transient=False,
            )
        return body["data"]

    # ------------------------------------------------------------ the protocol
