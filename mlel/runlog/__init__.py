"""Run folders and merged logs: merge (run folder -> merged log or result record), the merged-log
format and its validating reader, what a log says about how it was measured, and the metrics."""
