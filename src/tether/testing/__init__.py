"""Tools for testing workflows and activities: a virtual clock and a self-contained environment."""

from tether.model.clock import VirtualClock
from tether.testing._environment import TestEnvironment

__all__ = ["TestEnvironment", "VirtualClock"]

for _name in __all__:
    globals()[_name].__module__ = "tether.testing"
