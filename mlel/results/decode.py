"""The fast path of the result-record reader (:mod:`mlel.results`): a well-formed ``mlee-result/1``
file decoded by msgspec in one typed pass straight into its final objects. Everything this path
does not accept goes back to :meth:`mlel.results.ResultRecord.from_dict`, whose errors name the
field; the types below make every check that method makes (and are stricter where that is cheaper:
``null`` where it allows one, a blank string, which need Python, are left to it)."""
from __future__ import annotations

from typing import Annotated, Any

import msgspec

from mlel.results.record import (SCHEMA, Environment, MeasuredWindow, PropertyValue, Provenance, RecordError,
                                 ResultRecord, trusted_record)

_Text = Annotated[str, msgspec.Meta(min_length=1)]  # blank-only: checked after decoding (a regex costs more)


class _WireEnvironment(msgspec.Struct, gc=False):
    hardware: _Text
    software: str | None = None
    name: str | None = None


class _WireProvenance(msgspec.Struct, gc=False):
    tool: _Text
    file: str | None = None
    row: Annotated[int, msgspec.Meta(ge=0)] | None = None


class _WireRecord(msgspec.Struct, gc=False):
    """The file as the fast path decodes it: every check :meth:`ResultRecord.from_dict` makes, as
    types (a file it refuses, or accepts only loosely, takes the slow path, whose errors name the
    field). Unknown keys are ignored, as there."""

    schema: str
    task: _Text
    model: _Text
    environment: _WireEnvironment
    properties: dict[str, PropertyValue]
    provenance: _WireProvenance
    name: str | None = None
    dataset: str | None = None
    configuration: dict | None = None
    runs: Annotated[int, msgspec.Meta(ge=1)] = 1
    notes: str | None = None
    incomplete: Any = None
    window: MeasuredWindow | None = None  # optional: decoded straight into the record's own struct


_DECODE_RECORD = msgspec.json.Decoder(_WireRecord).decode


def fast_record(data: bytes) -> ResultRecord | None:
    """A well-formed record decoded in one pass into its final objects; None for anything else
    (the caller then takes the slow path, which says what is wrong, e.g. a nesting past the depth cap:
    msgspec recurses on a free-form ``configuration`` and raises RecursionError, never returned)."""
    try:
        return _build(_DECODE_RECORD(data))
    except (msgspec.DecodeError, RecordError, RecursionError):  # ValidationError is a DecodeError
        return None


_ENVIRONMENTS: dict[tuple, Environment] = {}  # a few distinct ones per directory: shared, immutable


def _environment(hardware: str, software: str | None, name: str | None) -> Environment:
    """The frozen Environment of these fields, made once (100,000 records, a dozen environments)."""
    key = (hardware, software, name)
    made = _ENVIRONMENTS.get(key)
    if made is None:
        if len(_ENVIRONMENTS) > 4096:  # bounded: a directory of all-distinct environments
            _ENVIRONMENTS.clear()
        made = _ENVIRONMENTS[key] = Environment(hardware, software or "", name or "")
    return made


def _build(wire: _WireRecord) -> ResultRecord | None:
    env, prov = wire.environment, wire.provenance
    if wire.schema != SCHEMA or wire.incomplete or not (
            wire.task.strip() and wire.model.strip() and env.hardware.strip() and prov.tool.strip()):
        return None
    # the decoded dicts are fresh and checked by their types: the record's own
    return trusted_record(wire.task, wire.model, _environment(env.hardware, env.software, env.name),
                          wire.properties, Provenance(prov.tool, prov.file or "", prov.row),
                          wire.name or wire.model, wire.dataset or "", wire.configuration or {}, wire.runs,
                          wire.notes or "", wire.window)
