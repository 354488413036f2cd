"""The SQLite store: the embedded default, one machine, one file."""
