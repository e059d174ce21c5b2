"""The AnyIO task manager on asyncio and on trio: limits, queue bound, timeouts, shutdown."""

import logging
import os
import threading
import time
import tracemalloc

import anyio
import pytest

from taskcenter.aio.manager import (
    ManagerClosedError,
    QueueFullError,
    TaskCancelledError,
    TaskManager,
    TaskRecord,
)
from tests.aio.conftest import Peak

pytestmark = pytest.mark.anyio


async def _answer() -> int:
    return 42


async def test_global_limit_is_reached_and_never_exceeded():
    peak = Peak()

    async def work() -> None:
        peak.enter()
        await anyio.sleep(0.01)
        peak.leave()

    async with TaskManager(max_concurrency=4, max_queue=100) as manager:
        for _ in range(40):
            manager.add_task(work)

    assert peak.peak == 4
    assert manager.counts["done"] == 40


async def test_sync_functions_run_in_threads_within_the_thread_limit():
    peak = Peak()

    def blocking() -> str:
        peak.enter()
        time.sleep(0.05)
        peak.leave()
        return threading.current_thread().name

    async with TaskManager(max_concurrency=8, thread_capacity=3) as manager:
        ids = [manager.add_task(blocking) for _ in range(9)]
        names = [await manager.wait_task(task_id) for task_id in ids]

    assert peak.peak == 3
    assert all(name != threading.current_thread().name for name in names)


async def test_thread_offload_keeps_order_within_its_limit():
    peak = Peak()

    def double(i: int) -> int:
        peak.enter()
        time.sleep(0.02)
        peak.leave()
        return i * 2

    async with TaskManager(thread_capacity=2) as manager:
        results = await manager.run_in_threads(double, range(8))

    assert results == [i * 2 for i in range(8)]
    assert peak.peak == 2


def _busy_window(seconds: float) -> tuple[int, float, float]:
    started = time.time()
    time.sleep(seconds)
    return os.getpid(), started, time.time()


async def test_process_offload_runs_in_other_processes_within_its_limit():
    async with TaskManager(process_capacity=2) as manager:
        windows = await manager.run_in_processes(_busy_window, [0.4] * 4)
        single = await manager.run_in_process(os.getpid)

    pids = {pid for pid, _, _ in windows}
    overlap = max(sum(1 for _, s, e in windows if s <= start < e) for _, start, _ in windows)
    assert os.getpid() not in pids
    assert single != os.getpid()
    assert overlap == 2


async def test_add_task_refuses_beyond_max_queue_and_accepts_again_once_drained():
    async with TaskManager(max_queue=2) as manager:
        first = manager.add_task(anyio.sleep, 0.05)
        manager.add_task(anyio.sleep, 0.05)
        with pytest.raises(QueueFullError):
            manager.add_task(anyio.sleep, 0.05)
        await manager.wait_task(first)
        with anyio.fail_after(10):
            while manager.unfinished:
                await anyio.sleep(0.01)
        manager.add_task(_answer)


async def test_default_and_per_task_timeouts_end_tasks_as_timed_out():
    async with TaskManager(default_timeout=0.1) as manager:
        by_default = manager.add_task(anyio.sleep, 10)
        own = manager.add_task(anyio.sleep, 10, timeout=0.2)
        with pytest.raises(TimeoutError):
            await manager.wait_task(by_default)
        with pytest.raises(TimeoutError):
            await manager.wait_task(own)

    first, second = manager.get_task_status(by_default), manager.get_task_status(own)
    assert first["status"] == second["status"] == "timed out"
    assert second["finished_at"] - second["started_at"] >= 0.2


async def test_cancelling_running_and_pending_tasks_leaves_the_others_running():
    async with TaskManager(max_concurrency=1) as manager:
        running = manager.add_task(anyio.sleep, 10)
        pending = manager.add_task(anyio.sleep, 10)
        after = manager.add_task(_answer)
        await anyio.sleep(0.05)
        assert manager.cancel_task(running)
        assert manager.cancel_task(pending)
        assert await manager.wait_task(after) == 42
        with pytest.raises(TaskCancelledError):
            await manager.wait_task(running)

    assert manager.get_task_status(running)["status"] == "cancelled"
    assert manager.get_task_status(pending)["status"] == "cancelled"
    assert manager.get_task_status(pending)["started_at"] is None
    assert manager.cancel_task(after) is False
    assert manager.cancel_task("no-such-id") is False


async def test_a_failure_is_recorded_logged_and_raised_to_whoever_waits(caplog):
    async def boom() -> None:
        raise ValueError("bad input")

    with caplog.at_level(logging.WARNING, logger="taskcenter.aio.manager"):
        async with TaskManager() as manager:
            failing = manager.add_task(boom, name="boom")
            fine = manager.add_task(_answer)
            with pytest.raises(ValueError, match="bad input"):
                await manager.wait_task(failing)

    status = manager.get_task_status(failing)
    assert status["status"] == "failed"
    assert "bad input" in status["error"]
    assert manager.get_task_status(fine)["result"] == 42
    assert any("boom" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_shutdown_drains_running_and_pending_tasks_when_time_allows():
    manager = TaskManager(max_concurrency=2)
    await manager.start()
    ids = [manager.add_task(anyio.sleep, 0.1) for _ in range(4)]

    cancelled = await manager.shutdown(timeout=10)

    assert cancelled == 0
    assert [manager.get_task_status(i)["status"] for i in ids] == ["done"] * 4
    with pytest.raises(ManagerClosedError):
        manager.add_task(_answer)


async def test_shutdown_cancels_what_outlasts_the_drain_and_tells_the_listener():
    heard: list[tuple[str, str]] = []

    async def listener(record: TaskRecord) -> None:
        heard.append((record.name, str(record.state)))

    manager = TaskManager(max_concurrency=1, listener=listener)
    await manager.start()
    manager.add_task(anyio.sleep, 0.05, name="quick")
    manager.add_task(anyio.sleep, 30, name="long")
    manager.add_task(anyio.sleep, 0, name="queued")
    started = time.monotonic()

    cancelled = await manager.shutdown(timeout=0.5)

    assert time.monotonic() - started < 5
    assert cancelled == 2
    assert heard == [
        ("quick", "running"),
        ("quick", "done"),
        ("long", "running"),
        ("long", "cancelled"),
        ("queued", "cancelled"),
    ]


async def test_shutdown_with_cancel_stops_everything_at_once():
    manager = TaskManager()
    await manager.start()
    task_id = manager.add_task(anyio.sleep, 30)
    await anyio.sleep(0.05)
    started = time.monotonic()

    assert await manager.shutdown(cancel=True) == 1

    assert time.monotonic() - started < 5
    assert manager.get_task_status(task_id)["status"] == "cancelled"


async def test_finished_records_are_pruned_so_memory_stays_flat():
    async def noop() -> None:
        pass

    async with TaskManager(max_queue=100_000, keep_finished=100) as manager:
        first = manager.add_task(noop)
        for _ in range(10_000):
            manager.add_task(noop)
        await anyio.sleep(0.1)
        tracemalloc.start()
        for _ in range(3):
            for _ in range(10_000):
                manager.add_task(noop)
            with anyio.fail_after(30):
                while manager.unfinished:
                    await anyio.sleep(0.01)
        grown, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    assert manager.get_task_status(first) is None
    assert len(manager._records) == 100
    assert manager.counts["done"] == 40_001
    # 30,000 more tasks leave well under 1 KiB each behind: nothing accumulates per task.
    assert grown < 1_000_000
