"""Tools for testing workflows and activities: a virtual clock, a self-contained environment, replay of histories."""

from tether.model.clock import VirtualClock
from tether.testing._environment import TestEnvironment
from tether.testing._replay import replay

__all__ = ["TestEnvironment", "VirtualClock", "replay"]

for _name in __all__:
    globals()[_name].__module__ = "tether.testing"
