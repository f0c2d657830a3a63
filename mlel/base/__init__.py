"""The lowest layer: errors and exit codes, atomic I/O, units, numbers out of JSON, names,
platform capture, environment keys, formatting for people. Imports nothing else of mlel."""
