"""AnyIO helpers: capacity limits, timeouts, cancellation and offload, for real."""

import http.server
import os
import threading
import time
from collections.abc import Iterator

import anyio
import pytest

from jobs.health import check_urls
from taskcenter.aio.manager import QueueFullError, TaskManager, gather_limited


def test_gather_limited_never_exceeds_its_limit_and_keeps_order():
    active = peak = 0

    async def work(i: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await anyio.sleep(0.01)
        active -= 1
        return i * 2

    results = anyio.run(lambda: gather_limited([lambda i=i: work(i) for i in range(20)], limit=3))

    assert results == [i * 2 for i in range(20)]
    assert peak == 3


def test_task_times_out_and_is_reported_as_timeout():
    async def main() -> dict:
        async with TaskManager(default_timeout=0.1) as manager:
            task_id = manager.add_task(anyio.sleep, 5, name="sleeper")
        return manager.get_task_status(task_id)

    status = anyio.run(main)

    assert status["status"] == "timeout"


def test_cancelled_task_stops_and_others_finish():
    async def main() -> tuple[dict, dict]:
        async with TaskManager() as manager:
            slow = manager.add_task(anyio.sleep, 5)
            fast = manager.add_task(_answer)
            await anyio.sleep(0.05)
            assert manager.cancel_task(slow)
        return manager.get_task_status(slow), manager.get_task_status(fast)

    started = time.monotonic()
    slow, fast = anyio.run(main)

    assert time.monotonic() - started < 2
    assert slow["status"] == "cancelled"
    assert fast == {
        "task_id": "2",
        "name": "_answer",
        "status": "done",
        "result": 42,
        "error": None,
    }


async def _answer() -> int:
    return 42


def test_failing_task_is_recorded_without_stopping_the_group():
    async def boom() -> None:
        raise ValueError("bad input")

    async def main() -> dict:
        async with TaskManager() as manager:
            task_id = manager.add_task(boom)
            manager.add_task(_answer)
        return manager.get_task_status(task_id)

    status = anyio.run(main)

    assert status["status"] == "failed"
    assert "bad input" in status["error"]


def test_add_task_refuses_work_beyond_max_queue():
    async def main() -> None:
        async with TaskManager(max_queue=2) as manager:
            manager.add_task(anyio.sleep, 0.05)
            manager.add_task(anyio.sleep, 0.05)
            with pytest.raises(QueueFullError):
                manager.add_task(anyio.sleep, 0.05)

    anyio.run(main)


def test_thread_and_process_offload_run_elsewhere_and_keep_order():
    async def main() -> tuple[list, list]:
        async with TaskManager(thread_capacity=2, process_capacity=2) as manager:
            threads = await manager.run_in_threads(_thread_name, range(4))
            processes = await manager.run_in_processes(_pid_of, range(2))
            return threads, processes

    threads, pids = anyio.run(main)

    assert all(name != "MainThread" for name in threads)
    assert all(pid != os.getpid() for pid in pids)


def _thread_name(_: int) -> str:
    return threading.current_thread().name


def _pid_of(_: int) -> int:
    return os.getpid()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/slow":
            time.sleep(2)
        self.send_response(200 if self.path in ("/ok", "/slow") else 500)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_http() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_check_urls_reports_each_url_in_order(local_http):
    urls = [f"{local_http}/ok", f"{local_http}/broken", "http://127.0.0.1:9/refused"]

    results = anyio.run(check_urls, urls)

    assert [r["url"] for r in results] == urls
    assert [r["ok"] for r in results] == [True, False, False]
    assert results[1]["status"] == 500
    assert results[2]["error"] is not None


def test_check_urls_times_out_a_slow_url(local_http):
    results = anyio.run(check_urls, [f"{local_http}/slow"], 2, 0.3)

    assert results[0]["ok"] is False
