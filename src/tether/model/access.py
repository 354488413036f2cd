"""API-key scopes: what a caller may do, to which workflows.

A scope reads ``resource:action:pattern``, for example ``activities:write:orders.*``:

- ``workflows:read``   describe, history, result and list executions, read their published values;
  list activities waiting for a token; list and describe schedules
- ``workflows:start``  start executions; make and trigger schedules of the workflow
- ``workflows:write``  cancel executions; pause, unpause and delete schedules of the workflow
- ``workflows:send``   send messages and requests to executions
- ``activities:write`` complete, fail, heartbeat, report cancelled and describe by token; list
  activities waiting for a token, with their activity tokens

``pattern`` matches the workflow's name, with ``*`` standing for any run of characters
(``*`` alone, or an omitted pattern, matches every workflow); ``*`` as the resource or the
action grants all of them. Checks name the workflow of the execution concerned, read in the
same transaction as the change, so a valid token with a key scoped elsewhere changes nothing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from tether.errors import InvalidPayload, PermissionDenied


class Action(StrEnum):
    """Everything a scope can grant."""

    READ_WORKFLOWS = "workflows:read"
    START_WORKFLOWS = "workflows:start"
    WRITE_WORKFLOWS = "workflows:write"
    SEND_WORKFLOWS = "workflows:send"
    WRITE_ACTIVITIES = "activities:write"


_RESOURCES = {"workflows", "activities", "*"}
_VERBS = {"read", "start", "write", "send", "*"}
_PATTERN = re.compile(r"[A-Za-z0-9_.\-*/:]+")


@dataclass(frozen=True, slots=True)
class Scope:
    """One grant: an action (or ``*``) on the workflows whose name matches ``pattern``."""

    resource: str
    verb: str
    pattern: str

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Read ``resource:action[:pattern]``.

        Raises:
            InvalidPayload: the scope names no known resource or action, or its pattern has odd characters.
        """
        parts = text.strip().split(":", 2)
        if len(parts) < 2:
            raise _bad(text, "a scope reads resource:action:pattern, e.g. activities:write:orders.*")
        resource, verb = parts[0], parts[1]
        pattern = parts[2] if len(parts) == 3 and parts[2] else "*"
        if resource not in _RESOURCES:
            raise _bad(text, f"the resource must be one of {sorted(_RESOURCES)}")
        if verb not in _VERBS:
            raise _bad(text, f"the action must be one of {sorted(_VERBS)}")
        if resource != "*" and verb != "*" and f"{resource}:{verb}" not in set(Action):
            raise _bad(text, f"{resource}:{verb} is not an action; use one of {[a.value for a in Action]}")
        if not _PATTERN.fullmatch(pattern):
            raise _bad(text, "the pattern may hold letters, digits, '_', '.', '-', '/', ':' and '*'")
        return cls(resource, verb, pattern)

    def __str__(self) -> str:
        return f"{self.resource}:{self.verb}:{self.pattern}"

    def grants(self, action: Action) -> bool:
        """Whether this scope covers ``action`` (on some workflows)."""
        resource, verb = _PARTS[action]
        return self.resource in ("*", resource) and self.verb in ("*", verb)

    def matches(self, workflow: str) -> bool:
        """Whether ``pattern`` matches the workflow name."""
        return self.pattern == "*" or _compiled(self.pattern).fullmatch(workflow) is not None


_PARTS = {action: (action.value.split(":")[0], action.value.split(":")[1]) for action in Action}
"""Each action's resource and verb (checked in every transition by token)."""


@functools.lru_cache(maxsize=512)  # a server checks the same few patterns in every transition
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def _bad(text: str, why: str) -> InvalidPayload:
    return InvalidPayload(f"invalid scope {text!r}: {why}", errors=[{"loc": ["scope"], "msg": why}])


@dataclass(frozen=True, slots=True)
class Access:
    """What one caller may do: the scopes of its API key, or everything (no keys in use)."""

    scopes: tuple[Scope, ...]
    key_id: str | None = None
    """The API key this access comes from; None when the server runs without keys."""
    key_name: str | None = None

    @classmethod
    def everything(cls) -> Access:
        """Full access, for servers that run without API keys and for embedded clients."""
        return _EVERYTHING if cls is Access else cls((Scope("*", "*", "*"),))

    def allows(self, action: Action, workflow: str) -> bool:
        """Whether this caller may do ``action`` to executions of ``workflow``."""
        return any(s.grants(action) and s.matches(workflow) for s in self.scopes)

    def require(self, action: Action, workflow: str) -> None:
        """Refuse unless this caller may do ``action`` to executions of ``workflow``.

        The refusal names the workflow only to a caller that may read it: others learn nothing
        about executions they cannot see.

        Raises:
            PermissionDenied: naming the action (and the workflow, when the caller may read it).
        """
        if self.allows(action, workflow):
            return
        who = f"API key {self.key_name!r}" if self.key_name else "this API key"
        if self.allows(Action.READ_WORKFLOWS, workflow) or action in (Action.START_WORKFLOWS, Action.WRITE_ACTIVITIES):
            # Starting names the workflow itself; closing by token proves the caller was handed that execution.
            raise PermissionDenied(
                f"{who} has no {action.value} scope for workflow {workflow!r}", action=action.value, workflow=workflow
            )
        raise PermissionDenied(f"{who} has no {action.value} scope for this execution", action=action.value)

    def patterns(self, action: Action) -> list[str] | None:
        """The workflow-name patterns this caller may ``action``; None when any workflow is allowed."""
        found = [s.pattern for s in self.scopes if s.grants(action)]
        return None if "*" in found else found


_EVERYTHING = Access((Scope("*", "*", "*"),))
"""Asked for by every request of a server without keys: one (immutable) instance serves them all."""
