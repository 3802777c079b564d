"""Branch watchers behind resource change notifications: ``Repository.watch`` per branch.

One daemon thread per watched branch, each with its own Repository (its own connection:
a PostgreSQL store wakes it by LISTEN/NOTIFY, the others are polled), calls ``on_move``
with the branch's name at each move, whoever made it (this server, another process, a
person at the shell). A thread watches in spans of ``SPAN`` seconds so it can be stopped;
between spans it compares the branch with the last tip it reported, so no move falls in
the gap (at worst one is reported twice, which costs a client one extra read).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ...porcelain.repository.facade import Repository

#: Seconds one ``watch`` call lasts without a commit before the thread checks whether to stop.
SPAN = 2.0


class BranchWatchers:
    """The watcher threads of one server; ``follow`` sets which branches are watched."""

    def __init__(self, open_repository: Callable[[], "Repository"], on_move: Callable[[str], None],
                 on_error: Callable[[str, BaseException], None], poll_interval: float = 0.1) -> None:
        self._open = open_repository
        self._on_move = on_move
        self._on_error = on_error
        self._poll = poll_interval
        self._threads: dict[str, tuple[threading.Thread, threading.Event]] = {}

    @property
    def branches(self) -> set[str]:
        return set(self._threads)

    def follow(self, branches: dict[str, str | None]) -> None:
        """Watch exactly ``branches`` (name -> its tip when the caller subscribed: a move after
        that is reported, even one made before the thread starts); stop watching the others."""
        for name in set(self._threads) - set(branches):
            _, stop = self._threads.pop(name)
            stop.set()
        for name in set(branches) - set(self._threads):
            stop = threading.Event()
            thread = threading.Thread(target=self._run, args=(name, branches[name], stop),
                                      name=f"statevcs-watch-{name}", daemon=True)
            self._threads[name] = (thread, stop)
            thread.start()

    def close(self) -> None:
        self.follow({})

    def _run(self, branch: str, tip: str | None, stop: threading.Event) -> None:
        try:
            repo = self._open()
        except BaseException as exc:  # a thread must not die silently: say why it stopped
            self._on_error(branch, exc)
            return
        try:
            while not stop.is_set():
                commits = repo.watch(branch, timeout=SPAN, poll_interval=self._poll)  # reads the tip now
                now = repo.branches.get(branch)
                if now != tip:  # moved between two spans
                    tip = now
                    self._on_move(branch)
                for commit in commits:  # oldest first: the last one is the new tip
                    tip = commit.id
                    self._on_move(branch)
                    if stop.is_set():
                        break
        except BaseException as exc:
            self._on_error(branch, exc)
        finally:
            repo.close()


__all__ = ["BranchWatchers", "SPAN"]
