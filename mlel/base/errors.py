"""One error base and one map from outcome to exit code, for every CLI.

Exit codes (SPEC §7 and the CLIs' ``--help`` epilogs): 0 ok, 1 failed (nothing rated, a write
failed, a run crashed), 2 usage (a bad option or a bad input named by the user), 130 SIGINT,
143 SIGTERM.
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

EXIT_CODES_EPILOG = "Exit codes: 0 ok, 1 failed, 2 usage error, 130 interrupted (SIGINT), 143 terminated (SIGTERM)."


class MleeError(Exception):
    """Base of every error MLEE raises on purpose; ``exit_code`` is what a CLI exits with."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(MleeError):
    """A bad option or input the user named: exit 2."""

    exit_code = EXIT_USAGE


class InputError(MleeError):
    """A file we read is not what it should be (names the file and field): exit 1."""


class OutputError(MleeError):
    """A file we should write cannot be written (unwritable, full, not a regular file): exit 1."""
