"""The generic result record ``mlee-result/1`` (SPEC §9): what an importer or a user's own experiment
writes, one JSON object per rated entry, and the reader that finds such records in a directory.

A record names one entry (a model in one configuration) of one task in one environment, its
property values with unit and source, and where they came from::

    {"schema": "mlee-result/1", "task": "lm-arena-chat", "model": "Qwen/Qwen3-14B",
     "name": "Qwen/Qwen3-14B (max_num_seqs 8)", "dataset": "...",
     "configuration": {"max_num_seqs": 8}, "environment": {"hardware": "1 x B200",
     "software": "vLLM", "name": "1 x B200 - vLLM"},
     "properties": {"energy_per_token": {"value": 0.699, "unit": "J/token", "source": "reported"}},
     "runs": 1, "provenance": {"tool": "ML.ENERGY leaderboard", "file": "tasks/lm-arena-chat.json", "row": 0}}

``name`` (the entry's distinguishing name; defaults to ``model``) and ``notes`` are optional. A
record marked ``"incomplete": true`` (a recorded run that ended early, see :mod:`mlel.runlog.recorded`) is
refused with its ``incomplete_reason``, as merged logs of incomplete runs are. The directory reader
decodes well-formed files in one typed pass (:mod:`mlel.results.decode`) and validates the rest here.
Validation errors name the field (``properties.energy_per_token.source``).
"""
from mlel.results.reader import (RecordScan, iter_result_records, parse_record_bytes,
                                 read_result_records)
from mlel.results.record import (SCHEMA, SOURCES, Environment, Problem, PropertyValue, Provenance, RecordError,
                                 ResultRecord, record_file_name)

__all__ = ["SCHEMA", "SOURCES", "Environment", "Problem", "PropertyValue", "Provenance", "RecordError",
           "RecordScan", "ResultRecord", "iter_result_records", "parse_record_bytes",
           "read_result_records", "record_file_name"]
