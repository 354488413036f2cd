"""Every test here runs over the embedded transport and over HTTP."""

from tests.helpers.transports import transport

__all__ = ["transport"]
