"""The worker's pool of threads for sync activities: daemon threads that never hold up the process's exit."""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class DaemonThreadPool(Executor):
    """Runs calls on up to ``max_workers`` daemon threads, started as calls come and kept for the next ones.

    A stopped worker abandons a sync activity that never returns (a call stuck on a dead
    connection): its attempt was failed for retry and its late result is ignored. With
    :class:`concurrent.futures.ThreadPoolExecutor` such a thread would still be joined
    when the interpreter exits, so the process of a stopped worker would never end;
    daemon threads are left behind instead, as a killed process would leave them.
    """

    def __init__(self, max_workers: int, *, thread_name_prefix: str) -> None:
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        """Released by a thread each time it is done with a call: how many threads wait for one."""
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._shutdown = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` on a pool thread; the future settles with its outcome.

        Raises:
            RuntimeError: the pool was shut down.
        """
        future: Future[T] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._calls.put(_Call(future, functools.partial(fn, *args, **kwargs)))
            if not self._idle.acquire(blocking=False) and len(self._threads) < self._max_workers:
                thread = threading.Thread(target=self._work, name=f"{self._prefix}_{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more calls; idle threads end, busy ones when their call returns (``wait`` waits for that)."""
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while True:
                    try:
                        call = self._calls.get_nowait()
                    except queue.Empty:
                        break
                    if call is not None:
                        call.future.cancel()
            self._calls.put(None)
        if wait:
            for thread in self._threads:
                thread.join()

    def _work(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                self._calls.put(None)  # and the next idle thread ends too
                return
            call.run()
            del call  # the finished call's arguments and result are not kept while idle
            self._idle.release()


@dataclass(slots=True)
class _Call:
    future: Future[Any]
    fn: Callable[[], Any]

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.fn()
        except BaseException as exc:  # handed to whoever awaits the future, as ThreadPoolExecutor does
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)
