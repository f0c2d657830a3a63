"""A command stopped by a signal: SIGINT and SIGTERM end it with one line and their exit codes.

One rule for the commands that write files (merge, the importers): SIGTERM unwinds the main thread
as Ctrl-C does (``finally`` blocks run: temp files are removed, a file being published finishes), and
the command prints one line, with no traceback, and returns 130 or 143.
"""
from __future__ import annotations

import signal
import sys
import threading
from typing import Callable

from mlel.base.errors import EXIT_SIGINT, EXIT_SIGTERM


class Terminated(Exception):
    """SIGTERM arrived (raised in the main thread, as KeyboardInterrupt is for SIGINT)."""


def _terminate(signum, frame):
    raise Terminated()


def until_stopped(run: Callable[[], int], said: Callable[[str], str]) -> int:
    """``run()``'s exit code; on SIGINT or SIGTERM the line ``said("interrupted (SIGINT)")`` (or
    "terminated (SIGTERM)") on stderr and 130 or 143. SIGTERM's handler is ours only while ``run``
    runs, and only in the main thread (signals are delivered there)."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        return run()
    except KeyboardInterrupt:
        print(said("interrupted (SIGINT)"), file=sys.stderr)
        return EXIT_SIGINT
    except Terminated:
        print(said("terminated (SIGTERM)"), file=sys.stderr)
        return EXIT_SIGTERM
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
