"""The run's console: stdout, stderr and logging also go to ``logfile.txt``; progress bars."""
from __future__ import annotations

import contextlib
import logging
import sys
from typing import Iterator

NOISY_LOGGERS = ("tensorflow", "absl", "tf2onnx", "h5py")


class LogFile:
    """The logfile side of the tee: lines as a terminal shows them (a progress bar's last state,
    not every redraw)."""

    def __init__(self, path):
        self.handle = open(path, "a", encoding="utf-8")
        self.line = ""

    def write(self, text: str) -> None:
        parts = (self.line + text).split("\n")
        self.line = parts.pop()
        for part in parts:
            self.handle.write(part.rsplit("\r", 1)[-1] + "\n")
        self.handle.flush()

    def close(self) -> None:
        if self.line.strip("\r"):
            self.handle.write(self.line.rsplit("\r", 1)[-1] + "\n")
        self.handle.close()


class Tee:
    """A console stream that also writes to a LogFile. A console that goes away (a closed pipe:
    ``| head``, an interrupted sweep's reader) is dropped, not fatal: the run and its logfile go on."""

    def __init__(self, stream, logfile: LogFile):
        self._stream, self._log = stream, logfile
        self.console_lost = False

    def _to_console(self, action) -> None:
        if self.console_lost:
            return
        try:
            action()
        except (OSError, ValueError):  # BrokenPipeError, EPIPE, a closed stream
            self.console_lost = True

    def write(self, text):
        self._to_console(lambda: self._stream.write(text))
        self._log.write(text)
        return len(text)

    def flush(self):
        self._to_console(self._stream.flush)

    def __getattr__(self, name):  # isatty, encoding, fileno: the console's
        return getattr(self._stream, name)


@contextlib.contextmanager
def tee_output(path) -> Iterator[None]:
    """Console output (stdout, stderr, logging at INFO and above) also goes to ``path``."""
    logfile = LogFile(path)
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Tee(old[0], logfile), Tee(old[1], logfile)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        sys.stdout, sys.stderr = old
        logfile.close()


def say(*parts, file=None) -> None:
    """print() that a lost console (a closed pipe) does not turn into an error."""
    try:
        print(*parts, file=file or sys.stdout, flush=True)
    except (OSError, ValueError):
        pass


def progress(total: int | None, desc: str):
    """A batch progress bar on stderr (so the logfile keeps its last state)."""
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="batch", dynamic_ncols=True, mininterval=0.5,
                file=sys.stderr)
