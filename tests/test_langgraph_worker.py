"""The saver's own thread (integrations/langgraph/worker.py): calls from many threads run on
it one at a time and in order, results and exceptions reach their callers, and a closed
saver refuses calls instead of waiting for ever."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("langgraph.checkpoint.conformance")

from statevcs.errors import StoreUnavailableError
from statevcs.integrations.langgraph import StateVCSSaver
from statevcs.integrations.langgraph.worker import StoreThread


def test_calls_from_many_threads_run_on_one_thread_one_at_a_time():
    marked: list[str] = []
    worker = StoreThread("t", lambda: marked.append(threading.current_thread().name))
    seen: list[tuple[str, int]] = []
    busy = threading.Lock()

    def job(i: int) -> int:
        assert busy.acquire(blocking=False)  # never two at once
        seen.append((threading.current_thread().name, i))
        busy.release()
        return i * i

    results: dict[int, int] = {}

    def caller(k: int) -> None:
        for i in range(k * 100, k * 100 + 100):
            results[i] = worker.call(job, i)

    callers = [threading.Thread(target=caller, args=(k,)) for k in range(6)]
    for c in callers:
        c.start()
    for c in callers:
        c.join(30)
    worker.shutdown()
    assert marked == ["t"]
    assert results == {i: i * i for i in range(600)}
    assert {name for name, _ in seen} == {"t"} and len(seen) == 600
    for k in range(6):  # each caller's calls in its order
        mine = [i for _, i in seen if k * 100 <= i < k * 100 + 100]
        assert mine == sorted(mine)


def test_an_exception_reaches_its_caller_and_the_thread_goes_on():
    worker = StoreThread("t", lambda: None)

    class Boom(Exception):
        pass

    def fail() -> None:
        raise Boom("on the worker")

    with pytest.raises(Boom, match="on the worker"):
        worker.call(fail)
    assert worker.call(lambda a, b=0: a + b, 2, b=3) == 5
    assert worker.call(lambda: None) is None
    worker.shutdown()
    worker.shutdown()  # twice is harmless
    with pytest.raises(StoreUnavailableError, match="closed"):
        worker.call(lambda: 1)


def test_a_closed_saver_refuses_calls(tmp_path):
    with StateVCSSaver.from_conn_string(str(tmp_path / "r")) as saver:
        config = {"configurable": {"thread_id": "t"}}
        assert saver.get_tuple(config) is None
    with pytest.raises(StoreUnavailableError, match="saver is closed"):
        saver.get_tuple(config)


def test_a_thread_whose_start_failed_answers_every_call_with_that_failure():
    def init() -> None:
        raise OSError("no connection")

    worker = StoreThread("t", init)
    for _ in range(2):
        with pytest.raises(OSError, match="no connection"):
            worker.call(lambda: 1)
    worker.shutdown()


def test_calls_racing_a_shutdown_are_answered_or_refused_never_left_waiting():
    for _ in range(20):
        worker = StoreThread("t", lambda: None)
        answers: list[object] = []

        def caller() -> None:
            for i in range(50):
                try:
                    answers.append(worker.call(lambda i=i: i))
                except StoreUnavailableError:
                    answers.append("refused")

        callers = [threading.Thread(target=caller) for _ in range(3)]
        for c in callers:
            c.start()
        worker.shutdown()
        for c in callers:
            c.join(10)
        assert not any(c.is_alive() for c in callers)  # none waits for ever
        assert len(answers) == 150
