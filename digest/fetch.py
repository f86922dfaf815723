"""Fetch every source's raw bytes: concurrent, bounded in time and size, never fatal.

Remote feeds use conditional GET with the validators kept in the state (a 304 reuses
the cached body), retry 429/5xx with backoff honouring ``Retry-After`` (unless the wait
asked for is longer than ``MAX_RETRY_WAIT`` or would outlast the deadline), follow a
bounded number of redirects (saying where a feed moved for good) and stop reading past
``max_bytes`` or ``timeout`` seconds after the request began (a request that timed out
is tried once more, after the backoff, when a whole second one fits before the
deadline). A body whose
``Content-Type`` names a charset is stored as UTF-8, since the header is gone once the
body is cached. Local feeds are ``file:`` URLs or plain paths. A failure becomes
``Fetched.error``; the build goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import zlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
from feedparser.encodings import convert_to_utf8, parse_content_type

from . import __version__
from .config import Config, FetchConfig, SourceConfig
from .errors import FetchError
from .models import Fetched
from .parse import is_json
from .store import CachedFeed, Store

log = logging.getLogger(__name__)
USER_AGENT = f"digest/{__version__} (newsletter digest)"
MAX_RETRY_WAIT = 30.0
# A server whose validators never change though its feed does would answer 304 for ever:
# a body older than this is asked for again without validators (at most one full GET per
# feed in this time, and a stuck feed's news is at most this late).
FULL_FETCH_AFTER = timedelta(days=2)
# The Content-Encodings undone here (zlib's wbits for each), so that no layer of one can
# decompress to more than the limit at once: httpx inflates each chunk whole, and a
# 3 KB body sent "gzip, gzip" is 2 GB in a single chunk. Only these are asked for.
_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
ACCEPT_ENCODING = "gzip, deflate"
GZIP_MAGIC = b"\x1f\x8b"  # how each member of a gzip body starts


class _TimedOut(FetchError):
    """A request that did not end within ``fetch.timeout``: a server slow for a moment
    may answer the next one, so it is tried once more if the deadline leaves room."""


class _Response(NamedTuple):
    """What one GET brought back: ``url`` is the address after any redirects, ``moved``
    where its permanent ones lead ("" if none: see ``_moved_to``)."""

    status: int
    body: bytes
    headers: httpx.Headers
    url: str
    moved: str = ""


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
    hosts: dict[str, asyncio.Semaphore] = {}  # each host's slots (``per_host``)
    deadline = asyncio.get_running_loop().time() + settings.deadline  # the loop's clock, as wait's
    async with _client(settings) as client:

        async def one(source: SourceConfig) -> Fetched:
            # the host's slot first: a source waiting for its host holds none of the others'
            async with _host_slot(hosts, settings.per_host, _location(source, config)), limit:
                result = await _fetch_one(client, source, config, store, offline, deadline)
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


def _host_slot(
    hosts: dict[str, asyncio.Semaphore], per_host: int, url: str
) -> AbstractAsyncContextManager[None]:
    """What a request to the host of ``url`` waits for: one of its ``per_host`` slots
    (``hosts`` holds them by host), so that the many feeds of one site (arXiv's
    categories, a forum's boards) do not reach it all at once; nothing for a local file."""
    host = urlsplit(url).hostname
    if not host or not url.lower().startswith(("http://", "https://")):
        return nullcontext()
    return hosts.setdefault(host, asyncio.Semaphore(per_host))


async def _valid_port(request: httpx.Request) -> None:
    """A port past 65535 (in sources.yaml or a redirect's Location) would raise
    OverflowError deep in the socket layer and end the whole fetch: fail this source only."""
    if request.url.port is not None and not 0 < request.url.port < 65536:
        raise httpx.InvalidURL(f"port {request.url.port} is out of range (1-65535) in {request.url}")


def _client(settings: FetchConfig) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        event_hooks={"request": [_valid_port]},
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        timeout=httpx.Timeout(settings.timeout),
        limits=httpx.Limits(max_connections=settings.concurrency),
        trust_env=False,
    )


def user_agent(config: Config) -> str:
    """The User-Agent of digest's requests: the tool, and the newsletter's own address
    when it has one, where a feed's publisher can see who reads their feed and ask. A
    header is ASCII: an address such as https://bücher.example/ is written as a request
    would write it (https://xn--bcher-kva.example/)."""
    try:
        url = str(httpx.URL(config.newsletter.url)) if config.newsletter.url else ""
    except httpx.InvalidURL:
        url = ""
    return f"{USER_AGENT[:-1]}; +{url})" if url else USER_AGENT


def feed_addresses(config: Config) -> frozenset[str]:
    """The address of every source of ``config``: the keys of its feed cache."""
    return frozenset(_location(source, config) for source in config.sources)


def _location(source: SourceConfig, config: Config) -> str:
    if source.path:
        return str(config.resolve(source.path))
    return source.url or ""


async def _fetch_one(
    client: httpx.AsyncClient,
    source: SourceConfig,
    config: Config,
    store: Store,
    offline: bool,
    deadline: float,
) -> Fetched:
    url = _location(source, config)
    try:
        if local := config.local_path(source):
            return Fetched(source, url, body=_read_local(local, config.fetch.max_bytes), status=200)
        if offline:
            return _from_cache(source, url, store)
        return await _fetch_remote(client, source, url, config.fetch, store, deadline, user_agent(config))
    except FetchError as exc:
        return Fetched(source, url, error=str(exc))


def _read_local(path: Path, max_bytes: int) -> bytes:
    """Read a local feed file, no more than ``max_bytes`` of it."""
    try:
        with path.open("rb") as f:  # a read of n bytes sets n aside first: no more than the file needs
            size = os.fstat(f.fileno()).st_size or max_bytes  # 0: a pipe or a device, of no known size
            body = f.read(min(size, max_bytes) + 1)
            if len(body) > size:  # it grew since: the rest, up to the limit
                body += f.read(max_bytes + 1 - len(body))
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(body) > max_bytes:
        raise FetchError(f"{path} is larger than the {max_bytes:,}-byte limit")
    return body


def _from_cache(source: SourceConfig, url: str, store: Store) -> Fetched:
    cached = store.cached_feed(url)
    if cached is None:
        raise FetchError("not fetched yet (offline: nothing cached for this URL)")
    return Fetched(source, url, body=cached.body, status=304, cached=True, base=cached.base or url)


async def _fetch_remote(
    client: httpx.AsyncClient,
    source: SourceConfig,
    url: str,
    settings: FetchConfig,
    store: Store,
    deadline: float,
    agent: str,
) -> Fetched:
    """GET ``url`` (conditionally, if cached) as ``agent`` unless the source or ``settings``
    name another, retrying 429/5xx while the wait fits the ``deadline`` (a time on the
    event loop's clock), and a timeout once, if a whole request still fits before it."""
    cached = store.cached_feed(url)
    headers = {"User-Agent": source.user_agent or settings.user_agent or agent}
    if cached and _fresh(cached):
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    timed_out = False  # a timeout is retried once
    for attempt in range(settings.retries + 1):
        try:
            response = await _get(client, url, headers, settings)
        except _TimedOut as exc:
            if timed_out:
                raise FetchError(f"{exc}, and again when retried") from None
            if attempt == settings.retries or not _room_for_another_try(settings, attempt, deadline):
                raise
            timed_out = True
            await asyncio.sleep(_retry_delay(None, attempt))
            continue
        status, response_headers, moved = response.status, response.headers, response.moved
        if status == 304 and cached:
            base = cached.base or response.url
            return Fetched(source, url, body=cached.body, status=304, cached=True, base=base, moved_to=moved)
        if 200 <= status < 300:
            body = _as_utf8(response.body, response_headers.get("content-type", ""))
            etag, modified = response_headers.get("etag"), response_headers.get("last-modified")
            # an empty body is a glitch, yet it may come with the feed's own validators: cached,
            # the server's next 304 would have the feed fail on it every day until it changes
            if body.strip():
                store.save_feed(url, etag, modified, body, response.url)
            return Fetched(source, url, body=body, status=status, base=response.url, moved_to=moved)
        if (status == 429 or status >= 500) and attempt < settings.retries:
            retry_after = response_headers.get("retry-after")
            _give_up_if_wait_too_long(status, retry_after, attempt, deadline)
            await asyncio.sleep(_retry_delay(retry_after, attempt))
            continue
        raise FetchError(_failed_at(status, url, response))
    raise AssertionError("unreachable")  # pragma: no cover


def _fresh(cached: CachedFeed) -> bool:
    """Whether ``cached`` came in full recently enough that a 304 for it may be trusted."""
    return cached.fetched_at is not None and datetime.now(UTC) - cached.fetched_at < FULL_FETCH_AFTER


def _failed_at(status: int, url: str, response: _Response) -> str:
    """What a failing ``status`` says after redirects: the address that answered (the
    configured one may be fine), and where the feed moved for good if it did, which
    belongs in sources.yaml though that address fails today too (a 410 there)."""
    where = f" at {response.url}" if response.url != str(httpx.URL(url)) else ""
    if not response.moved:
        return _status_line(status) + where
    if response.moved == response.url:
        return f"{_status_line(status)}{where}, where the feed moved permanently (put that in sources.yaml)"
    moved = f"the feed moved permanently to {response.moved} (put that in sources.yaml)"
    return f"{_status_line(status)}{where}; {moved}"


def _room_for_another_try(settings: FetchConfig, attempt: int, deadline: float) -> bool:
    """Whether a whole request (``settings.timeout``) still fits before the deadline after
    the backoff: a try the deadline would cut short only holds the build for nothing."""
    left = deadline - asyncio.get_running_loop().time()
    return _retry_delay(None, attempt) + settings.timeout <= left


def _status_line(status: int) -> str:
    return f"HTTP {status} {httpx.codes.get_reason_phrase(status)}".strip()


def _give_up_if_wait_too_long(status: int, retry_after: str | None, attempt: int, deadline: float) -> None:
    """Report ``status`` now if the wait before the next try would not end before the
    deadline, or the server asks for a longer one than digest waits (``MAX_RETRY_WAIT``).

    Sleeping into the deadline would turn a server's clear answer ("busy, come back
    tomorrow") into a vague timeout. The server's own figure counts, not the capped wait
    we would sleep: when it cannot be honoured, an earlier retry would most likely be
    refused again, and would only hold the build for nothing.
    """
    asked = _requested_wait(retry_after)
    wait = max(asked or 0.0, _retry_delay(retry_after, attempt))
    if wait <= MAX_RETRY_WAIT and wait < deadline - asyncio.get_running_loop().time():
        return
    if asked is None:
        raise FetchError(_status_line(status))
    raise FetchError(f"{_status_line(status)} (the server asks to retry in {asked:.0f} s)")


def _as_utf8(body: bytes, content_type: str) -> bytes:
    """``body`` in UTF-8 if ``content_type`` names its charset, as feedparser decodes it.

    feedparser's ``convert_to_utf8`` applies RFC 3023 (which of the HTTP charset, the
    XML declaration and a byte-order mark wins, by media type) and rewrites the
    declaration to say utf-8, so the body parses right later, from the cache too, where
    the header is gone. JSON is not XML: it is kept as it came.
    """
    if not parse_content_type(content_type)[1]:
        return body
    if is_json(body):
        return body
    return convert_to_utf8({"content-type": content_type}, body, {})


async def _get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], settings: FetchConfig
) -> _Response:
    """GET ``url``; read the (decompressed) body up to ``settings.max_bytes``, all of it
    within ``settings.timeout`` seconds.

    httpx times each read alone, so a server that trickles a byte at a time would hold
    the request, and the build, until the deadline: the whole request is timed too.
    """
    max_bytes, seconds = settings.max_bytes, settings.timeout
    response: httpx.Response | None = None  # once the headers are in
    try:
        headers = {**headers, "Accept-Encoding": ACCEPT_ENCODING}
        async with asyncio.timeout(seconds), client.stream("GET", url, headers=headers) as response:
            decoder = _Decoder(response.headers.get("content-encoding", ""), max_bytes)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes and not decoder.layers:
                raise FetchError(f"body of {int(declared):,} bytes is over the {max_bytes:,}-byte limit")
            chunks, size, received = [], 0, 0
            async for raw in response.aiter_raw():
                chunk = decoder.decode(raw)
                size, received = size + len(chunk), received + len(raw)
                # what arrives counts too: bytes after a gzip stream's end decode to nothing
                if size > max_bytes or received > max_bytes:
                    raise FetchError(f"body is over the {max_bytes:,}-byte limit")
                chunks.append(chunk)
            body, final = b"".join(chunks), str(response.url)
            return _Response(response.status_code, body, response.headers, final, _moved_to(response))
    except httpx.TooManyRedirects:
        raise FetchError("too many redirects (a redirect loop?)") from None
    except (httpx.TimeoutException, TimeoutError):  # TimeoutError: asyncio's, an OSError
        if response is None:
            raise _TimedOut("timed out waiting for the server") from None
        raise _TimedOut(
            f"timed out: the feed did not arrive whole within {seconds:g} s (fetch.timeout)"
        ) from None
    except zlib.error as exc:
        raise FetchError(f"could not decompress the body: {exc}") from None
    except httpx.InvalidURL as exc:  # not an httpx.HTTPError: it would end the whole fetch
        raise FetchError(f"not a valid URL: {exc}") from None
    except (httpx.HTTPError, OSError) as exc:
        raise FetchError(_connection_error(url, exc)) from None


def _moved_to(response: httpx.Response) -> str:
    """Where the feed moved for good: the address its first redirects lead to while each
    is permanent (301, 308), which belongs in sources.yaml; "" if the first is not."""
    hops = [*response.history, response]
    moved = ""
    for hop, after in zip(hops, hops[1:]):
        if hop.status_code not in (301, 308):
            break
        moved = str(after.request.url)
    return moved


@dataclass
class _Layer:
    """One Content-Encoding being undone: its name, its decompressor, what it gave so far."""

    name: str
    inflater: Any
    given: int = 0

    @classmethod
    def of(cls, name: str) -> _Layer:
        return cls(name, zlib.decompressobj(_ENCODINGS[name]))


class _Decoder:
    """Undoes a body's ``Content-Encoding`` layers chunk by chunk, each layer giving at
    most ``limit`` bytes in all: a compression bomb is refused before it is inflated.
    FetchError for an encoding that is not gzip or deflate."""

    def __init__(self, header: str, limit: int) -> None:
        self.limit = limit
        names = [n.strip().lower() for n in header.split(",") if n.strip().lower() not in ("", "identity")]
        for name in names:
            if name not in _ENCODINGS:
                raise FetchError(f"the body is in an encoding digest cannot read (Content-Encoding: {name})")
        self.layers = [_Layer.of(name) for name in reversed(names)]  # the one applied last first

    def decode(self, data: bytes) -> bytes:
        for layer in self.layers:
            if not data:
                break
            data = self._inflate(layer, data)
        return data

    def _inflate(self, layer: _Layer, data: bytes) -> bytes:
        out = [self._inflate_member(layer, data)]
        # a gzip body may be several members one after another (RFC 1952 2.2: a file
        # written in parts, a compressor flushing as it goes): each goes on the text.
        # Anything else after the end (padding) is left, as before.
        while layer.name != "deflate" and layer.inflater.eof and layer.inflater.unused_data[:2] == GZIP_MAGIC:
            rest = layer.inflater.unused_data
            layer.inflater = zlib.decompressobj(_ENCODINGS[layer.name])
            out.append(self._inflate_member(layer, rest))
        return b"".join(out)

    def _inflate_member(self, layer: _Layer, data: bytes) -> bytes:
        room = self.limit - layer.given + 1
        try:
            out = layer.inflater.decompress(data, room)
        except zlib.error:
            if layer.name != "deflate" or layer.given or layer.inflater.unused_data:
                raise
            layer.inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, without the zlib header
            out = layer.inflater.decompress(data, room)
        layer.given += len(out)
        if layer.inflater.unconsumed_tail or layer.given > self.limit:
            raise FetchError(f"body is over the {self.limit:,}-byte limit")
        return out


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
    asked = _requested_wait(retry_after)
    if asked is None:
        return min(0.5 * 2**attempt, MAX_RETRY_WAIT)
    return min(asked, MAX_RETRY_WAIT)


def _requested_wait(retry_after: str | None) -> float | None:
    """The seconds ``Retry-After`` asks for (seconds or an HTTP date); None if absent or unreadable."""
    if not retry_after:
        return None
    if retry_after.strip().isdigit():
        return float(retry_after)
    try:
        when = parsedate_to_datetime(retry_after).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - time.time())
