"""Every test here that opens a TestEnvironment runs over the embedded transport and over HTTP."""

from tests.helpers.transports import transport

__all__ = ["transport"]
