"""The preview, wired: a rebuild worker, a file watcher and an HTTP server.

``Preview`` is what tests and the benchmark start in-process; ``serve`` is what
``digest preview`` runs until Ctrl-C.
"""

from __future__ import annotations

import errno
import logging
import signal
import threading
import time
import webbrowser
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import FrameType

from ..config import Config, load_config
from ..errors import ConfigError, DigestError
from .rebuild import Rebuilder
from .server import PreviewServer
from .watch import Watcher, targets_for

log = logging.getLogger("digest.preview")


class PreviewError(DigestError):
    """The preview server cannot start (port in use, address not available)."""

    exit_code = 1


class Preview:
    """Serves ``out`` on ``host:port`` and rebuilds the issue whenever a source file changes."""

    def __init__(
        self,
        sources: Path,
        out: Path,
        issue_date: date | None = None,
        host: str = "127.0.0.1",
        port: int = 8000,
    ) -> None:
        self.sources, self.out, self.issue_date = sources, out, issue_date
        self.stopping = False
        self.server = bind(host, port, self)  # first: nothing to clean up if it fails
        self.rebuilder = Rebuilder(sources, out, issue_date, on_config=self._on_config)
        self.watcher = Watcher(targets_for(sources, None, None), self._on_change)
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(0.1,), name="digest-preview-http"
        )

    @property
    def url(self) -> str:
        """The preview's address, e.g. ``http://127.0.0.1:8000/``."""
        host, port = self.server.server_address[:2]
        return f"http://[{host}]:{port}/" if ":" in str(host) else f"http://{host}:{port}/"

    def start(self, refetch: bool = False) -> Preview:
        """Start serving, watching and the first build (``refetch``: fetch the feeds first)."""
        self.out.mkdir(parents=True, exist_ok=True)
        self.rebuilder.start()
        self.watcher.start()
        self._thread.start()
        self.rebuilder.request("start", refetch=refetch)
        return self

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Wait for the first build to finish and the watch to be in place; False on timeout."""
        deadline = time.monotonic() + timeout
        status = self.rebuilder.status
        while status.build == 0 and time.monotonic() < deadline:
            status = self.rebuilder.wait_change(status.seq, deadline - time.monotonic())
        return status.build > 0 and self.watcher.wait_ready(max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        """Stop serving (open event streams end), watching and rebuilding."""
        self.stopping = True
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(5)
        self.server.server_close()
        self.watcher.stop()
        self.rebuilder.stop()

    def __enter__(self) -> Preview:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_config(self, config: Config, issue_date: date) -> None:
        self.watcher.watch(targets_for(self.sources, config, issue_date))

    def _on_change(self, paths: list[str]) -> None:
        names = ", ".join(_short(p) for p in paths[:3]) + (
            f" and {len(paths) - 3} more" if len(paths) > 3 else ""
        )
        log.info("changed: %s", names)
        self.rebuilder.request(f"{names} changed")


def _short(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def bind(host: str, port: int, preview: Preview) -> PreviewServer:
    """The server listening on ``host:port``; a ``PreviewError`` saying what to do if not."""
    try:
        return PreviewServer(host, port, preview)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PreviewError(
                f"cannot listen on {host}:{port}: the port is in use (another preview?); "
                f"try --port {port + 1}"
            ) from None
        if exc.errno == errno.EACCES:
            raise PreviewError(
                f"cannot listen on {host}:{port}: permission denied; try --port 8000"
            ) from None
        raise PreviewError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (check --host)") from None


def default_out(sources: Path) -> Path:
    """The config's ``out`` folder; ``out`` beside sources.yaml while the config is invalid.

    A missing sources.yaml is an error: there is nothing to preview.
    """
    try:
        config = load_config(sources)
    except ConfigError as exc:
        if not sources.is_file():
            raise
        log.error("%s (serving anyway: fix it and save)", exc)
        return sources.resolve().parent / "out"
    return config.resolve(config.out)


def serve(
    sources: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    issue_date: date | None = None,
    refetch: bool = False,
    open_browser: bool = False,
    echo: Callable[[str], None] = print,
) -> None:
    """Run the preview until Ctrl-C (or SIGTERM); return normally then."""
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    out = default_out(sources)
    preview = Preview(sources, out, issue_date, host, port)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: _interrupt(signum, frame))
    try:
        preview.start(refetch=refetch)
        _announce(preview, host, echo)
        if open_browser:
            webbrowser.open(preview.url)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        echo("digest preview: stopped")
    finally:
        signal.signal(signal.SIGTERM, previous)
        preview.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _announce(preview: Preview, host: str, echo: Callable[[str], None]) -> None:
    echo(f"digest preview: serving {preview.url} from {preview.out} (Ctrl-C to stop)")
    if not preview.server.loopback_only:
        echo(f"digest preview: warning: listening on {host}: anyone who can reach this machine can see it")
