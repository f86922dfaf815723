"""The preview's HTTP server: out/ under /out/, the preview's pages under /, nothing else.

Paths are decoded once and refused if any segment is ``..`` (also when written as
``%2e%2e``), and every file is resolved, symlinks followed, and served only if it is
still inside out/ (``out/latest`` is a relative symlink to an issue folder: allowed).
A request must name the server by an IP address, ``localhost``, the ``--host`` given or
(listening beyond loopback) this machine's name: a page of another site that DNS
rebinding points at the preview names its own domain, and is refused. No page may be
framed by another site (clickjacking "Fetch again").

Each connection holds a thread: one that sends nothing for ``idle_timeout`` seconds is
closed, and past ``max_per_client`` connections from one address, or ``max_connections``
in all, a new one is answered 503 at once and closed, without a thread. A scan or a
slowloris from another machine (``--host 0.0.0.0``) can hold a few threads, not all the
process's file descriptors, and the editor's own requests are still answered at once.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import mimetypes
import re
import socket
import socketserver
import sys
import threading
import traceback
from collections import Counter
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from .pages import read_issue, render_page, send_preview

if TYPE_CHECKING:
    from .app import Preview

log = logging.getLogger("digest.preview")
KEEPALIVE_SECONDS = 15.0
_BUSY_TEXT = b"busy: too many connections to the preview at once; retry in a few seconds\n"
BUSY = (  # the answer past the caps on connections
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: %d\r\nRetry-After: 5\r\nConnection: close\r\n\r\n%s" % (len(_BUSY_TEXT), _BUSY_TEXT)
)
MAX_BODY = 65536  # bytes of a POST body read (and ignored): "Fetch again" sends none
TYPES = {".txt": "text/plain; charset=utf-8", ".html": "text/html; charset=utf-8",
         ".json": "application/json; charset=utf-8", ".xml": "application/xml; charset=utf-8"}  # fmt: skip
LIVE_SCRIPT = (
    "<script>(function(){{if(window.top!==window)return;var b={build};"
    'var es=new EventSource("/_preview/events");es.addEventListener("status",function(e){{'
    'var s=JSON.parse(e.data);if(s.state==="ok"&&s.build>b){{es.close();location.reload();}}}});'
    "}})();</script>"
)

# what a page of out/ shown in one of the preview's frames gets in its head: every link
# opens a tab of its own, as in a mail client (a sandboxed frame would otherwise show the
# article in its 375 px, without its scripts)
FRAME_BASE = b'<base target="_blank">'
_HEAD = re.compile(rb"<head\b[^>]*>", re.IGNORECASE)


class Forbidden(Exception):
    """A path that names something outside out/."""


def resolve_inside(root: Path, url_path: str) -> Path:
    """The file under ``root`` that ``url_path`` (still percent-encoded) names.

    Raises ``Forbidden`` for ``..`` segments, backslashes, NUL bytes, and for anything
    that resolves (symlinks followed) outside ``root``.
    """
    decoded = unquote(url_path, errors="strict")
    if "\x00" in decoded or "\\" in decoded:
        raise Forbidden(url_path)
    parts = [part for part in decoded.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise Forbidden(url_path)
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base):
        raise Forbidden(url_path)
    return target


def is_traversal(url_path: str) -> bool:
    """True if the decoded ``url_path`` has a ``..`` segment or a backslash."""
    try:
        decoded = unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        return True
    return "\\" in decoded or "\x00" in decoded or ".." in decoded.split("/")


class PreviewServer(ThreadingHTTPServer):
    """A threading HTTP server for one ``Preview``; IPv6 when the host is."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64  # a burst of connections waits for accept, not for SYN retries
    idle_timeout = 10.0  # seconds a connection may send nothing (keep-alive or mid-request)
    max_connections = 128  # connections served at once
    max_per_client = 24  # of them, from one address: a browser opens six, and a stream per tab

    def __init__(self, host: str, port: int, preview: Preview) -> None:
        self.preview = preview
        self.open: Counter[str] = Counter()  # connections being served, by client address
        self.open_lock = threading.Lock()
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.loopback_only = _is_loopback(host)
        self.names = {"localhost", host.strip("[]").lower()}
        if not self.loopback_only:  # reached from other machines, by name too
            machine = socket.gethostname().lower()
            self.names |= {machine, machine.split(".")[0] + ".local"}
        super().__init__((host, port), PreviewHandler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host (slow on some machines)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection on a thread of its own, unless the caps are reached: then
        503 at once, from the accepting thread, and close it."""
        client = str(client_address[0])
        with self.open_lock:
            full = self.open.total() >= self.max_connections or self.open[client] >= self.max_per_client
            if not full:
                self.open[client] += 1
        if full:
            _refuse(request)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection, then give its place back."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.open_lock:
                self.open[str(client_address[0])] -= 1
                self.open += Counter()  # drop the addresses at zero

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line in the log, not a traceback on the editor's terminal; nothing when the
        browser went away mid-reply (a frame reloaded, a tab closed) or fell silent."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        log.error("request from %s failed: %s", client_address[0], error)
        log.debug("%s", traceback.format_exc())

    def knows(self, host: str) -> bool:
        """True if a request naming ``host`` (a Host header's host part) is for this server:
        an IP address or one of its names; DNS rebinding needs a domain of its own."""
        host = host.lower()
        try:
            ipaddress.ip_address(host.strip("[]"))
            return True
        except ValueError:
            return not host or host in self.names


def _refuse(connection: socket.socket) -> None:
    """Answer ``connection`` 503 without waiting on it: what the client already sent is
    read first, as a close with unread bytes would reset the connection before the
    answer is read."""
    try:
        connection.setblocking(False)
        connection.recv(65536)
    except OSError:  # nothing sent yet, or the client is gone
        pass
    try:
        connection.send(BUSY)
    except OSError:
        pass


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def host_name(header: str) -> str:
    """The host part of a ``Host`` header (``[::1]`` for an IPv6 address)."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class PreviewHandler(BaseHTTPRequestHandler):
    """Routes: ``/`` the preview, ``/_preview/*`` its API, ``/out/*`` the issues."""

    server: PreviewServer
    protocol_version = "HTTP/1.1"
    server_version = "digest-preview"

    def setup(self) -> None:
        """Time out a connection silent for the server's ``idle_timeout``."""
        self.timeout = self.server.idle_timeout
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        """Answer a GET (or HEAD) request."""
        path = urlsplit(self.path).path
        if not self._allowed(path):
            return
        routes = {
            "/": self._index,
            "/_preview/events": self._events,
            "/_preview/status": self._status,
            "/_preview/send": self._send_page,
        }
        if path in routes:
            routes[path]()
        elif path == "/out" or path.startswith("/out/"):
            self._static(path.removeprefix("/out"))
        else:
            self._reply(HTTPStatus.NOT_FOUND, "not found\n")

    do_HEAD = do_GET  # noqa: N815

    def do_POST(self) -> None:  # noqa: N802
        """``/_preview/refetch``: fetch the feeds anew and rebuild."""
        length = self.headers.get("Content-Length") or "0"
        if not length.isdecimal() or int(length) > MAX_BODY or "Transfer-Encoding" in self.headers:
            self.close_connection = True  # what follows is no next request
            self._reply(HTTPStatus.BAD_REQUEST, f"bad request: a body of at most {MAX_BODY} bytes\n")
            return
        self.rfile.read(int(length))  # first: an answer must not leave it to pass for a request
        path = urlsplit(self.path).path
        if not self._allowed(path):
            return
        if path != "/_preview/refetch":
            self._reply(HTTPStatus.NOT_FOUND, "not found\n")
            return
        if not self._same_origin():
            self._reply(HTTPStatus.FORBIDDEN, "forbidden: cross-origin request\n")
            return
        self.server.preview.rebuilder.request("fetch again", refetch=True)
        self._redirect("/")

    def _allowed(self, path: str) -> bool:
        """Refuse traversal and, on loopback, foreign Host headers; True if allowed."""
        if is_traversal(path):
            self._reply(HTTPStatus.FORBIDDEN, "forbidden: path outside the preview\n")
            return False
        if not self.server.knows(host_name(self.headers.get("Host") or "")):
            message = "forbidden: unexpected Host header (open the preview by its address or its --host)\n"
            self._reply(HTTPStatus.FORBIDDEN, message)
            return False
        return True

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        return origin is None or urlsplit(origin).netloc == self.headers.get("Host")

    def _index(self) -> None:
        preview = self.server.preview
        status = preview.rebuilder.status
        page = render_page("index.html", status=status.as_json(), sources=str(preview.sources))
        self._reply(HTTPStatus.OK, page, "text/html; charset=utf-8")

    def _status(self) -> None:
        body = json.dumps(self.server.preview.rebuilder.status.as_json())
        self._reply(HTTPStatus.OK, body, "application/json; charset=utf-8")

    def _send_page(self) -> None:
        preview = self.server.preview
        config, status = preview.rebuilder.config, preview.rebuilder.status
        if config is None or not status.slug:
            self._reply(
                HTTPStatus.OK, render_page("send.html", send=None, issue={}), "text/html; charset=utf-8"
            )
            return
        folder = preview.out / status.slug
        recipient = (parse_qs(urlsplit(self.path).query).get("to") or [""])[0].strip()
        send = send_preview(config, folder, recipient)
        issue = read_issue(folder)
        self._reply(
            HTTPStatus.OK, render_page("send.html", send=send, issue=issue), "text/html; charset=utf-8"
        )

    def _events(self) -> None:
        """Server-sent events: the status now, then at every change; a comment to keep alive."""
        rebuilder = self.server.preview.rebuilder
        self.send_response(HTTPStatus.OK)
        for name, value in (("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"),
                            ("Connection", "close")):  # fmt: skip
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        seq = -1
        try:
            while not rebuilder.stopping and not self.server.preview.stopping:
                status = rebuilder.wait_change(seq, KEEPALIVE_SECONDS)
                if status.seq != seq:
                    seq = status.seq
                    self.wfile.write(f"event: status\ndata: {json.dumps(status.as_json())}\n\n".encode())
                else:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except OSError:  # the page went away
            pass

    def _static(self, path: str) -> None:
        """A file of out/ (``index.html`` for a folder); HTML gets the live-reload script."""
        try:
            target = resolve_inside(self.server.preview.out, path)
        except (Forbidden, UnicodeDecodeError):
            self._reply(HTTPStatus.FORBIDDEN, "forbidden: path outside the preview\n")
            return
        if target.is_dir():
            if not path.endswith("/"):  # so that relative links inside resolve
                self._redirect(f"/out{path}/")
                return
            target = target / "index.html"
        if not target.is_file():
            self._reply(HTTPStatus.NOT_FOUND, "not found\n")
            return
        self._file(target)

    def _file(self, target: Path) -> None:
        body = target.read_bytes()
        kind = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix == ".html" and self.headers.get("Sec-Fetch-Dest") == "iframe":
            body = _HEAD.sub(lambda head: head.group() + FRAME_BASE, body, count=1)
        elif target.suffix == ".html":
            script = LIVE_SCRIPT.format(build=self.server.preview.rebuilder.status.build).encode()
            body = body.replace(b"</body>", script + b"</body>", 1) if b"</body>" in body else body + script
        self._reply(HTTPStatus.OK, body, kind)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _reply(self, status: HTTPStatus, body: str | bytes, kind: str = "text/plain; charset=utf-8") -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "frame-ancestors 'self'")
        self.send_header("X-Frame-Options", "SAMEORIGIN")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
