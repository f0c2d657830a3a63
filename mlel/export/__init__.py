"""Exports other tools read: BoAmps reports and a flat CSV/Parquet table of the rated entries."""
