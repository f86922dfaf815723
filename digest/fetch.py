"""Fetch every source's raw bytes: concurrent, bounded in time and size, never fatal.

Remote feeds use conditional GET with the validators kept in the state (a 304 reuses
the cached body), retry 429/5xx with backoff honouring ``Retry-After``, follow a
bounded number of redirects and stop reading past ``max_bytes``. Local feeds are
``file:`` URLs or plain paths. A failure becomes ``Fetched.error``; the build goes on.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from . import __version__
from .config import Config, FetchConfig, SourceConfig
from .errors import FetchError
from .models import Fetched
from .store import Store

log = logging.getLogger(__name__)
USER_AGENT = f"digest/{__version__} (newsletter digest; +https://pypi.org/project/digest/)"
MAX_RETRY_WAIT = 30.0


def fetch_all(
    config: Config,
    store: Store,
    offline: bool = False,
    on_done: Callable[[Fetched], None] | None = None,
) -> list[Fetched]:
    """Fetch every source of ``config`` within ``config.fetch.deadline`` seconds.

    With ``offline`` no request is made: remote sources come from the cached bodies.
    Results keep the order of ``config.sources``.
    """
    return asyncio.run(_fetch_all(config, store, offline, on_done or (lambda _: None)))


async def _fetch_all(
    config: Config, store: Store, offline: bool, on_done: Callable[[Fetched], None]
) -> list[Fetched]:
    settings = config.fetch
    limit = asyncio.Semaphore(settings.concurrency)
    async with _client(settings) as client:

        async def one(source: SourceConfig) -> Fetched:
            async with limit:
                result = await _fetch_one(client, source, config, store, offline)
            on_done(result)
            return result

        tasks = [asyncio.create_task(one(s)) for s in config.sources]
        done, pending = await asyncio.wait(tasks, timeout=settings.deadline)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
    return [
        task.result()
        if task in done and not task.cancelled()
        else Fetched(
            source, _location(source, config), error=f"gave up after the {settings.deadline:g} s deadline"
        )
        for task, source in zip(tasks, config.sources, strict=True)
    ]


def _client(settings: FetchConfig) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        timeout=httpx.Timeout(settings.timeout),
        limits=httpx.Limits(max_connections=settings.concurrency),
        trust_env=False,
    )


def _location(source: SourceConfig, config: Config) -> str:
    if source.path:
        return str(config.resolve(source.path))
    return source.url or ""


async def _fetch_one(
    client: httpx.AsyncClient, source: SourceConfig, config: Config, store: Store, offline: bool
) -> Fetched:
    url = _location(source, config)
    try:
        if local := local_feed_path(source, config):
            return Fetched(source, url, body=_read_local(local, config.fetch.max_bytes), status=200)
        if offline:
            return _from_cache(source, url, store)
        return await _fetch_remote(client, source, url, config.fetch, store)
    except FetchError as exc:
        return Fetched(source, url, error=str(exc))


def local_feed_path(source: SourceConfig, config: Config) -> Path | None:
    """The file of a local source (``path:`` or a ``file:`` URL); None for a remote one."""
    if source.path:
        return config.resolve(source.path)
    if (source.url or "").lower().startswith("file:"):
        return config.resolve(unquote(urlsplit(source.url or "").path))
    return None


def _read_local(path: Path, max_bytes: int) -> bytes:
    """Read a local feed file, no more than ``max_bytes`` of it."""
    try:
        with path.open("rb") as f:
            body = f.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(body) > max_bytes:
        raise FetchError(f"{path} is larger than the {max_bytes:,}-byte limit")
    return body


def _from_cache(source: SourceConfig, url: str, store: Store) -> Fetched:
    cached = store.cached_feed(url)
    if cached is None:
        raise FetchError("not fetched yet (offline: nothing cached for this URL)")
    return Fetched(source, url, body=cached.body, status=304, cached=True)


async def _fetch_remote(
    client: httpx.AsyncClient, source: SourceConfig, url: str, settings: FetchConfig, store: Store
) -> Fetched:
    cached = store.cached_feed(url)
    headers = {"User-Agent": source.user_agent or settings.user_agent or USER_AGENT}
    if cached:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    for attempt in range(settings.retries + 1):
        status, body, response_headers = await _get(client, url, headers, settings.max_bytes)
        if status == 304 and cached:
            return Fetched(source, url, body=cached.body, status=304, cached=True)
        if 200 <= status < 300:
            store.save_feed(url, response_headers.get("etag"), response_headers.get("last-modified"), body)
            return Fetched(source, url, body=body, status=status)
        if (status == 429 or status >= 500) and attempt < settings.retries:
            await asyncio.sleep(_retry_delay(response_headers.get("retry-after"), attempt))
            continue
        raise FetchError(f"HTTP {status} {httpx.codes.get_reason_phrase(status)}".strip())
    raise AssertionError("unreachable")  # pragma: no cover


async def _get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], max_bytes: int
) -> tuple[int, bytes, httpx.Headers]:
    """GET ``url``; read the (decompressed) body up to ``max_bytes``."""
    try:
        async with client.stream("GET", url, headers=headers) as response:
            declared = response.headers.get("content-length", "")
            if (
                declared.isdigit()
                and int(declared) > max_bytes
                and "gzip" not in response.headers.get("content-encoding", "")
            ):
                raise FetchError(f"body of {int(declared):,} bytes is over the {max_bytes:,}-byte limit")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"body is over the {max_bytes:,}-byte limit")
                chunks.append(chunk)
            return response.status_code, b"".join(chunks), response.headers
    except httpx.TooManyRedirects:
        raise FetchError("too many redirects (a redirect loop?)") from None
    except httpx.TimeoutException:
        raise FetchError("timed out waiting for the server") from None
    except httpx.DecodingError as exc:
        raise FetchError(f"could not decompress the body: {exc}") from None
    except httpx.InvalidURL as exc:  # not an httpx.HTTPError: it would end the whole fetch
        raise FetchError(f"not a valid URL: {exc}") from None
    except (httpx.HTTPError, OSError) as exc:
        raise FetchError(_connection_error(url, exc)) from None


def _connection_error(url: str, exc: BaseException) -> str:
    """A reason a person can act on: the host that does not resolve, or refused us."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host {urlsplit(url).hostname!r} (a typo, or no network?)"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {urlsplit(url).netloc} (is the server running?)"
        cause = cause.__cause__ or cause.__context__
    return f"connection failed: {exc or type(exc).__name__}"


def _retry_delay(retry_after: str | None, attempt: int) -> float:
    """Seconds to wait before the next try: ``Retry-After`` if given, else backoff."""
    backoff = min(0.5 * 2**attempt, MAX_RETRY_WAIT)
    if not retry_after:
        return backoff
    if retry_after.strip().isdigit():
        return min(float(retry_after), MAX_RETRY_WAIT)
    try:
        when = parsedate_to_datetime(retry_after).timestamp()
    except (TypeError, ValueError):
        return backoff
    return max(0.0, min(when - time.time(), MAX_RETRY_WAIT))
