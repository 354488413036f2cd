"""Deterministic workflow execution and the activity context: what user code calls."""
