"""File watching: sources.yaml, the notes file, local feed files and every template folder.

Folders are watched one by one, not recursively: the folder of sources.yaml may hold a
virtualenv or ``out/``, and only a few files in it matter. What is watched follows the
configuration: a new ``templates:`` folder or issue date changes the set.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import watchfiles

from ..build import notes_path
from ..config import Config
from ..render import builtin_templates

log = logging.getLogger("digest.preview")
IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".tmp")


@dataclass(frozen=True)
class Targets:
    """What a change to is worth a rebuild: exact files, and anything in some folders."""

    files: frozenset[Path]
    folders: tuple[Path, ...]

    def dirs(self) -> list[Path]:
        """The folders to watch: the files' folders and every folder in ``folders``."""
        found = {_existing(f.parent) for f in self.files}
        for folder in self.folders:
            if folder.is_dir():
                found.add(folder)
                found.update(p for p in folder.rglob("*") if p.is_dir() and not p.name.startswith("."))
        return sorted(found)

    def matches(self, change: watchfiles.Change, path: str) -> bool:
        """True if a change to ``path`` should trigger a rebuild."""
        changed = Path(path)
        if changed.name.startswith(".") or changed.name.endswith(IGNORED_SUFFIXES):
            return False  # editors' swap and backup files, our own temporary files
        if changed in self.files:
            return True
        return any(changed.is_relative_to(folder) for folder in self.folders)

    def opens_a_way(self, path: str, watched: list[Path]) -> bool:
        """True if ``path`` is a folder on the way to a target file that is not watched
        yet (``notes/`` made while the preview runs): the watch must take it in."""
        changed = Path(path)
        return changed not in watched and any(f.parent.is_relative_to(changed) for f in self.files)


def targets_for(sources: Path, config: Config | None, issue_date: date | None) -> Targets:
    """The targets for ``config`` (or, without a valid config, sources.yaml and the theme)."""
    files = {sources.resolve()}
    folders = [builtin_templates().resolve()]
    if config is not None:
        if issue_date is not None:
            files.add(notes_path(config, issue_date).resolve())
        if config.templates:
            folders.insert(0, config.resolve(config.templates).resolve())
        files.update(feed.resolve() for feed in local_feeds(config))
    return Targets(frozenset(files), tuple(folders))


def local_feeds(config: Config) -> list[Path]:
    """The files of ``config``'s local sources: editing one is worth a rebuild too."""
    return [path for source in config.sources if (path := config.local_path(source))]


def _existing(folder: Path) -> Path:
    """``folder``, or its nearest ancestor that exists."""
    while not folder.is_dir() and folder.parent != folder:
        folder = folder.parent
    return folder


class Watcher:
    """Calls ``on_change(paths)`` from its own thread whenever a target changes."""

    def __init__(self, targets: Targets, on_change: Callable[[list[str]], None]) -> None:
        self.on_change = on_change
        self._targets = targets
        self._wake = threading.Event()  # set to restart the watch (new targets) or stop
        self._stopping = False
        self._ready = threading.Condition()
        self._watching: Targets | None = None  # what is being watched for sure
        self._thread = threading.Thread(target=self._run, name="digest-preview-watch", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching and wait for the thread."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the current targets are being watched; False on timeout."""
        with self._ready:
            return self._ready.wait_for(lambda: self._watching == self._targets, timeout)

    def _mark_ready(self, targets: Targets) -> None:
        with self._ready:
            self._watching = targets
            self._ready.notify_all()

    def watch(self, targets: Targets) -> None:
        """Watch ``targets`` from now on (a no-op if they did not change)."""
        if targets != self._targets:
            self._targets = targets
            self._wake.set()

    def _run(self) -> None:
        while not self._stopping:
            targets = self._targets
            self._wake.clear()
            try:
                self._watch(targets)
            except OSError as exc:  # a watched folder vanished: try again shortly
                log.warning("cannot watch %s; retrying", exc)
                self._wake.wait(1.0)

    def _watch(self, targets: Targets) -> None:
        """Report changes to ``targets`` until woken (new targets, or stop)."""
        watched = targets.dirs()
        changes_seen = watchfiles.watch(
            *watched,
            watch_filter=lambda change, path: (
                targets.matches(change, path) or targets.opens_a_way(path, watched)
            ),
            stop_event=self._wake,
            recursive=False,
            step=20,  # a burst of saves ends after this many ms without an event...
            debounce=300,  # ...or after this many ms at most
            rust_timeout=250,
            yield_on_timeout=True,  # the first (empty) yield says the watch is in place
            raise_interrupt=False,
        )
        for changes in changes_seen:
            self._mark_ready(targets)
            if changes:
                self.on_change(sorted({path for _, path in changes}))
                if targets.dirs() != watched:  # a folder of a target appeared: watch it too
                    changes_seen.close()
                    return
