"""Shared fixtures: a real HTTP feed server on 127.0.0.1, configs, a state store.

The server answers each path from a handler table that a test fills in with
``feed_server.route(path, Reply(...), ...)``: status, headers, body, a delay before
answering, gzip, a hang (never answer), a trickle (a byte at a time). Every request is
recorded (method, path, headers), so a test can count them and read what was sent.
"""

from __future__ import annotations

import gzip
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from digest.config import Config, load_config
from digest.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
FEEDS = FIXTURES / "feeds"

# Small limits so failure paths are fast: a hung server costs one second, not ten.
FAST_FETCH = {"timeout": 1, "deadline": 5, "retries": 1}


@dataclass(frozen=True)
class Reply:
    """One scripted response."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line is sent
    gzip: bool = False  # send the body gzip-encoded
    hang: bool = False  # accept the request and never answer (until the server stops)
    trickle: float = 0.0  # after the headers, send one byte of body every N seconds
    length: bool = True  # send Content-Length (else the body ends when the connection closes)


@dataclass(frozen=True)
class Request:
    """What the server saw."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names


Handler = Callable[[Request], Reply]


class FeedServer:
    """A ``ThreadingHTTPServer`` on a free loopback port with a per-path handler table."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.seen: list[Request] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.httpd = _Server(("127.0.0.1", 0), _handler_class(self))
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, *replies: Reply | Handler) -> str:
        """Answer ``path`` with ``replies`` in turn (the last one repeats); return its URL.

        A reply may also be a function of the ``Request``.
        """
        script = list(replies)
        calls = {"n": 0}

        def handler(request: Request) -> Reply:
            with self.lock:
                index = min(calls["n"], len(script) - 1)
                calls["n"] += 1
            step = script[index]
            return step(request) if callable(step) else step

        self.routes[path] = handler
        return self.url(path)

    def requests(self, path: str) -> list[Request]:
        """Every request made for ``path``, in order."""
        with self.lock:
            return [r for r in self.seen if r.path == path]

    def _record(self, request: Request) -> None:
        with self.lock:
            self.seen.append(request)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many sources connect at once; the default backlog of 5 drops SYNs


def _handler_class(server: FeedServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            path = self.path.split("?", 1)[0]
            request = Request("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
            server._record(request)
            handler = server.routes.get(path)
            reply = handler(request) if handler else Reply(404, b"no route")
            if reply.hang:
                server.stopping.wait(30)
                return
            if reply.delay and server.stopping.wait(reply.delay):
                return
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            body = gzip.compress(reply.body) if reply.gzip else reply.body
            self.send_response(reply.status)
            headers = {"Content-Type": "application/xml", **reply.headers}
            if reply.gzip:
                headers["Content-Encoding"] = "gzip"
            for name, value in headers.items():
                self.send_header(name, value)
            if reply.length and not reply.trickle:
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                if not reply.trickle:
                    self.wfile.write(body)
                    return
                for byte in body:  # a slow drip keeps every read within its timeout
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    if server.stopping.wait(reply.trickle):
                        return
            except OSError:  # the client gave up; that is the point of some tests
                pass
            self.close_connection = True

    return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 (free port); hung handlers are released at the end."""
    server = FeedServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(timeout=5)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite state file in tmp_path."""
    with Store(tmp_path / "state" / "state.sqlite") as state:
        yield state


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Config]:
    """Write a sources.yaml for ``sources`` into tmp_path and load it.

    ``fetch`` settings default to ``FAST_FETCH``; extra top-level keys go as keywords.
    """

    def write(
        sources: list[dict[str, object]], fetch: dict[str, object] | None = None, **extra: object
    ) -> Config:
        data = {
            "newsletter": {"name": "Test Digest"},
            "sources": sources,
            "fetch": {**FAST_FETCH, **(fetch or {})},
            **extra,
        }
        path = tmp_path / "sources.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return load_config(path)

    return write


def rss(*items: str, title: str = "Feed", link: str = "https://news.example/") -> bytes:
    """A small RSS 2.0 document around ``items`` (each an ``<item>…</item>`` string)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{title}</title><link>{link}</link><description>d</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode("utf-8")


def rss_item(title: str, link: str, date: str = "Sat, 14 Jun 2025 08:00:00 GMT", body: str = "") -> str:
    """One ``<item>`` (``title`` and ``body`` inserted as given: escape them yourself)."""
    return (
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{date}</pubDate><description>{body}</description></item>"
    )


# -- a real browser ------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"  # Debian's
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright: skipped when either is missing,
    a failure under ``DIGEST_REQUIRE_BROWSER=1`` (CI), where nothing may be skipped."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = "" if Path(CHROMIUM).exists() else f"{CHROMIUM} is missing"
    missing = missing or ("" if sync_playwright else "playwright is not installed")
    if missing:
        if os.environ.get("DIGEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"DIGEST_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
