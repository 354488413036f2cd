"""The workflow instances a worker keeps between tasks, so that a resume does not replay the history."""

from __future__ import annotations

import collections
import threading

from tether.engine import dispatch
from tether.runtime.workflow_instance import WorkflowInstance


class InstanceCache:
    """Running workflow instances by execution id, least recently used first out.

    Shared by the event loop and the threads that record sync attempts (a transition run
    on such a thread takes the instance it resumes), hence the lock. :attr:`loaded_seq`
    tells the store which events each cached instance has already seen, so a claim sends
    only the new ones.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._instances: collections.OrderedDict[str, WorkflowInstance] = collections.OrderedDict()
        self.loaded_seq: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = False

    def take(self, execution_id: str) -> WorkflowInstance | None:
        """Remove and return the instance of ``execution_id``; whoever runs it puts it back."""
        with self._lock:
            self.loaded_seq.pop(execution_id, None)
            return self._instances.pop(execution_id, None)

    def keep(self, instance: dispatch.CachedExecution) -> None:
        """Put back an instance that ran, unless it finished or the cache is off or closed."""
        assert isinstance(instance, WorkflowInstance)
        if instance.finished or self._capacity == 0 or self._closed:
            return
        with self._lock:
            self._instances[instance.execution_id] = instance
            self.loaded_seq[instance.execution_id] = instance.loaded_seq
            while len(self._instances) > self._capacity:
                evicted, _ = self._instances.popitem(last=False)
                self.loaded_seq.pop(evicted, None)

    def advance(self, execution_id: str, seen: int, to: int) -> None:
        """Move the cached instance of ``execution_id`` from having seen ``seen`` to ``to``, if it stands there.

        The events between are records its workflow does not read (see ``dispatch.LocalWorker.advance_cached``).
        """
        with self._lock:
            instance = self._instances.get(execution_id)
            if instance is not None and instance.loaded_seq == seen:
                instance.loaded_seq = to
                self.loaded_seq[execution_id] = to

    def awaits_only(self, execution_id: str, activity_id: int) -> bool:
        """Whether the cached instance of ``execution_id`` awaits that activity and nothing else (a hint).

        Read without the lock, from any thread: an instance being run elsewhere is not here.
        """
        instance = self._instances.get(execution_id)
        return instance is not None and instance.awaits_only(activity_id)

    def close(self) -> None:
        """Drop every instance and keep no more (the worker is stopping)."""
        with self._lock:
            self._closed = True
            self._instances.clear()
            self.loaded_seq.clear()
