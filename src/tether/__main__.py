"""The ``tether`` script and ``python -m tether``: the command line, or which extra it needs.

This module imports nothing of the command line before it knows its packages are there, so
that ``pip install tether`` without the ``server`` extra gets a sentence, not a traceback.
"""

from __future__ import annotations

import sys

from tether import errors

EXIT_MISSING_EXTRA = 25
"""The exit code of a command that needs an extra that is not installed (as ``tether.cli.output`` maps it)."""


def main() -> None:
    """Run the ``tether`` command, or say which extra installs it."""
    try:
        from tether import cli
    except errors.MissingExtra as missing:
        sys.stderr.write(f"tether: the command line needs tether[{missing.extra}]: {missing}\n")
        raise SystemExit(EXIT_MISSING_EXTRA) from None
    try:
        cli.main()
    except errors.MissingExtra as missing:  # e.g. `tether server` with Typer installed but not FastAPI
        sys.stderr.write(f"error ({missing.code}): {missing}\n")
        raise SystemExit(EXIT_MISSING_EXTRA) from None


if __name__ == "__main__":
    main()
