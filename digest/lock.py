"""One run at a time: an exclusive ``flock`` on a file beside the state database.

The lock belongs to the open file, so the kernel releases it when the process ends,
however it ends: a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .config import Config
from .errors import StateError


class AlreadyRunning(StateError):
    """Another ``digest run`` or ``digest send`` holds the lock."""

    exit_code = 75  # EX_TEMPFAIL: try again later


def lock_path(config: Config) -> Path:
    """The lock file of a newsletter: ``<state file>.lock``."""
    state = config.resolve(config.state)
    return state.with_name(state.name + ".lock")


def publish_lock_path(config: Config) -> Path:
    """The lock that builds publish under: ``<state file>.publish.lock``."""
    state = config.resolve(config.state)
    return state.with_name(state.name + ".publish.lock")


@contextmanager
def publish_lock(path: Path, patience: float = 120.0) -> Iterator[None]:
    """Hold the lock at ``path`` for the block, waiting up to ``patience`` seconds for it.

    Builds (``build``, ``run``, every ``preview`` rebuild) take their issue number and
    write ``out/`` under it, one at a time: publishing takes a second or two, so a
    second build waits instead of failing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        waited_until = time.monotonic() + patience
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > waited_until:
                    raise AlreadyRunning(
                        f"another build has been publishing for over {patience:.0f} s (lock {path}); "
                        "this one exits"
                    ) from None
                time.sleep(0.05)
        yield


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold the lock at ``path`` for the block; ``AlreadyRunning`` if another process has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 (held open for the whole block)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            # empty while the holder, which has just taken the lock, has not written its pid yet
            pid = handle.read().strip()
            holder = f"pid {pid}, " if pid else ""
            raise AlreadyRunning(
                f"another digest run or send is in progress ({holder}lock {path}); this one exits"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()
