"""SIGTERM and SIGINT during a run: unwind cleanly, remember why, leave with 130/143.

A signal raises ``Interrupted`` in the main thread, so the run unwinds (monitoring flushes,
``incomplete.json`` is written) instead of dying mid-write. The handler also records the signal in
the ``SignalWatch`` of the run: an exception raised where Python ignores it (a finaliser, a
callback) would be lost, so the batch loops check the watch between batches too.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from typing import Callable, Iterator

from mlel.base.errors import EXIT_SIGINT, EXIT_SIGTERM

EXIT_BY_SIGNAL = {signal.SIGINT: EXIT_SIGINT, signal.SIGTERM: EXIT_SIGTERM}


class Interrupted(BaseException):
    """SIGTERM (or SIGINT) arrived: unwinds like KeyboardInterrupt, past ``except Exception``."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return EXIT_BY_SIGNAL.get(self.signum, EXIT_SIGTERM)


class SignalWatch:
    """The signals that arrived while ``signals_raise`` was installed (one per run, no global)."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def raise_if_signalled(self) -> None:
        if self.received:
            raise Interrupted(self.received[-1])

    def ticker(self, bar) -> Callable[[int], None]:
        """A batch-progress callback: advances the bar, then stops the run if a signal came."""
        def tick(n: int = 1) -> None:
            bar.update(n)
            self.raise_if_signalled()
        return tick


@contextlib.contextmanager
def signals_raise() -> Iterator[SignalWatch]:
    """Install the handlers for the block (main thread only; elsewhere the watch stays empty).
    A signal the parent ignores stays ignored (nohup, background jobs), as Python does for SIGINT."""
    watch = SignalWatch()
    if threading.current_thread() is not threading.main_thread():
        yield watch
        return

    def handler(signum, frame):
        watch.received.append(signum)
        raise Interrupted(signum)

    wanted = [sig for sig in (signal.SIGTERM, signal.SIGINT) if signal.getsignal(sig) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, handler) for sig in wanted}
    try:
        yield watch
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def exit_process(code: int) -> None:
    """Leave the process with ``code``. A run cut short by a signal has written everything it keeps,
    so it skips interpreter teardown: a framework thread stopped mid-op can make C++ static
    destructors call std::terminate (SIGABRT), which would hide the 130/143 that says why it ended."""
    lost = False
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken console: nothing left to tell it
            lost = True
    if code in (EXIT_SIGINT, EXIT_SIGTERM):
        logging.shutdown()
        os._exit(code)
    if lost:  # else the interpreter's final flush fails again and turns the exit code into 120
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            try:
                os.dup2(devnull, fd)
            except OSError:
                pass
    sys.exit(code)
