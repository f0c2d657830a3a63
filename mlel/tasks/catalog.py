"""A catalog of records kept as JSON: the built-in ones in a folder of the package, and users' files.

Property sets (:mod:`.properties`) and rating schemes (:mod:`.schemes`) are each one catalog: a name
is a built-in record (``<folder>/<name>.json``, read once), anything else a path to a user's file;
errors name the file and, for a name that is neither, the closest built-in names.
"""
from __future__ import annotations

import difflib
import os
import threading
from pathlib import Path
from typing import Callable, Generic, Mapping, TypeVar

from mlel.base.errors import InputError, UsageError
from mlel.base.io import read_json

Record = TypeVar("Record")


class Catalog(Generic[Record]):
    """``parse(data, where)`` turns one JSON object into a record (raising InputError naming
    ``where``); ``kind`` names a record in messages ("task", "scheme")."""

    def __init__(self, folder: Path, parse: Callable[[Mapping, str], Record], kind: str):
        self.folder, self.parse, self.kind = folder, parse, kind
        self._read: dict[str, Record] = {}  # built-in records, each parsed once: they never change
        self._names: tuple[str, ...] | None = None  # nor does the package's folder
        self._lock = threading.Lock()

    def names(self) -> tuple[str, ...]:
        if self._names is None:
            self._names = tuple(path.stem for path in sorted(self.folder.glob("*.json")))
        return self._names

    def builtin(self, name: str) -> Record:
        with self._lock:
            if name not in self._read:
                self._read[name] = self.parse(read_json(self.folder / f"{name}.json"), f"{name}.json: ")
            return self._read[name]

    def all(self) -> dict[str, Record]:
        """Every built-in record, by name."""
        return {name: self.builtin(name) for name in self.names()}

    def read_file(self, path: str | os.PathLike) -> Record:
        """A user's file. Raises UsageError naming the file."""
        try:
            data = read_json(path)
        except OSError as error:
            raise UsageError(f"{self.kind} file {path}: {error.strerror or error}") from None
        except ValueError as error:
            raise UsageError(f"{self.kind} file {path}: not valid JSON ({error})") from None
        try:
            return self.parse(data, f"{self.kind} file {Path(path).name}: ")
        except InputError as error:
            raise UsageError(str(error)) from None

    def load(self, name_or_path: str | os.PathLike) -> Record:
        """A built-in record by name, or a user's file by path."""
        names = self.names()
        if isinstance(name_or_path, str) and name_or_path in names:
            return self.builtin(name_or_path)
        if Path(name_or_path).is_file():
            return self.read_file(name_or_path)
        close = difflib.get_close_matches(str(name_or_path), names, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ";"
        raise UsageError(f"no built-in {self.kind} and no file named '{name_or_path}'{hint} "
                         f"built-in {self.kind}s: {', '.join(names)}")
