"""Large inputs on two cores: half of a piece of work in a forked process, the other half here.

Only where a fork is safe and worth it: on Linux, with a second core, and while no other
thread runs (a forked child would inherit any lock such a thread holds). The child sends
its result back through a pipe; if it dies, or lags far behind this process's half, it is
killed and its half is done here. Either way the result is the same as done here alone.

Work that is mostly numpy and scipy (candidate blocks, pair features) runs on two
threads instead (``concurrently``): those libraries release the GIL while they work, and
the threads share the arrays, where a fork would have to send them back.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import TypeVar

PARALLEL_FROM = 4000  # items from which the work is split
GRACE = 10.0  # seconds the child may lag behind this process (plus 4x the time its half took)

Half = TypeVar("Half")
Result = TypeVar("Result")


def can_fork() -> bool:
    """A second core, and a fork that cannot inherit a lock another thread holds."""
    return sys.platform == "linux" and _cores() > 1 and threading.active_count() == 1


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def in_two(work: Callable[[Half], Result], first: Half, second: Half, items: int) -> tuple[Result, Result]:
    """``(work(first), work(second))``; the second in a forked process meanwhile when
    there are at least ``PARALLEL_FROM`` ``items`` and forking is safe."""
    if items < PARALLEL_FROM or not can_fork():
        return work(first), work(second)
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_send_result, args=(work, second, send), daemon=True)
    child.start()
    send.close()
    try:
        started = time.monotonic()
        mine = work(first)
        try:  # the child's half is as large as this one: waiting much longer means it is stuck
            if not receive.poll(GRACE + 4 * (time.monotonic() - started)):
                raise TimeoutError
            theirs = receive.recv()
        except (EOFError, OSError, TimeoutError):  # the child died or stalled: its half is done here
            child.kill()
            theirs = work(second)
    finally:  # also when this half failed (or was interrupted): no child is left behind
        receive.close()
        child.kill()
        child.join()
    return mine, theirs


def _send_result(work: Callable[[Half], Result], half: Half, send: Connection) -> None:
    send.send(work(half))
    send.close()


def concurrently(tasks: Sequence[Callable[[], Result]], worth_it: bool = True) -> list[Result]:
    """Each task's result, in order; on two threads when ``worth_it`` (the tasks are
    large enough to outweigh starting a thread) and there is a second core. numpy's and
    scipy's array work releases the GIL. The threads are joined before this returns."""
    if not worth_it or len(tasks) < 2 or _cores() < 2:
        return [task() for task in tasks]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda task: task(), tasks))
