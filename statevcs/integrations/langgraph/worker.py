"""The saver's own thread: every store call of a saver runs on it, in order.

LangGraph calls a saver from short-lived worker threads, and a store keeps a connection per
thread: running the calls on one thread keeps one connection (and its prepared statements
and caches). A call is handed over through a queue and its caller waits on a lock, which
costs about half of what ``ThreadPoolExecutor.submit(...).result()`` costs (a future, a
condition variable and their locks per call): 0.5-0.9 ms of a 15 ms LangGraph turn,
which makes ten such calls.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable

from ...errors import StoreUnavailableError


class StoreThread:
    """A daemon thread running the calls given to ``call`` one at a time; ``init`` runs on
    it first. An exception a call raises is raised again in its caller."""

    def __init__(self, name: str, init: Callable[[], None]) -> None:
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._closing = threading.Lock()  # a call is queued before the end, or refused
        self._thread = threading.Thread(target=self._run, args=(init,), name=name, daemon=True)
        self._thread.start()

    def _run(self, init: Callable[[], None]) -> None:
        failed: BaseException | None = None
        try:
            init()
        except BaseException as exc:  # noqa: BLE001 - every call is answered with it
            failed = exc
        get = self._calls.get
        while (item := get()) is not None:
            fn, args, kwargs, outcome, done = item
            try:
                if failed is not None:
                    raise failed
                outcome.append(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
                outcome.extend((exc, _RAISED))
            done.release()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` run on the thread; its result, or its exception raised here."""
        done = threading.Lock()
        done.acquire()
        outcome: list[Any] = []
        with self._closing:
            if self._closed:
                raise StoreUnavailableError("the saver is closed: open a new one (from_conn_string)")
            self._calls.put((fn, args, kwargs, outcome, done))
        done.acquire()
        if len(outcome) == 2 and outcome[1] is _RAISED:
            raise outcome[0]
        return outcome[0]

    def shutdown(self) -> None:
        """Run the calls already given, then end the thread (later calls are refused)."""
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._calls.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join()


_RAISED = object()
