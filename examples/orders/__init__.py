"""The order example: a workflow waits for an approval that another process gives by token.

Run it with ``bin/demo`` (or ``python -m examples.orders`` from the repository root).
"""
