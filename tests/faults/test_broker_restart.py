"""Fault 4: the broker (Redis with the append-only file on) killed and restarted under load.

Every run queued before the crash completes after the restart with no manual step; the
worker and the web server (gunicorn) that lost their connections reconnect by themselves.
The web server answers 503 while Redis is down and 202 again once it is back.
"""

import signal
import sys
import time

import pytest

from taskcenter.models import Run
from tests.conftest import Proc, child_env, wait_for
from tests.faults.conftest import count, free_port, result_row, send, start_fault_worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

RUNS = 6


def _start_web(tmp_path, **env: str) -> tuple[Proc, object]:
    """Start the web server (gunicorn, one worker) with `env`; wait until it answers."""
    from tests.api.conftest import HttpClient

    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"]
    argv += ["-b", f"127.0.0.1:{port}", "--workers", "1"]
    web = Proc(argv, tmp_path / "gunicorn.log", child_env(**env))
    http = HttpClient(f"http://127.0.0.1:{port}")

    def up() -> bool:
        try:
            return http.get("/health").status == 200
        except OSError:
            return False

    wait_for(up, timeout=60, what="gunicorn to answer")
    return web, http


def test_runs_queued_before_a_broker_crash_complete_after_its_restart(
    own_redis, tmp_path, make_user, token_for
):
    token = token_for(make_user(jobs=("jobs.demo.add",)))
    trigger = ("/api/jobs/jobs.demo.add/runs", {"kwargs": {"x": 1, "y": 2}})
    worker = start_fault_worker(tmp_path, own_redis.url, concurrency=1)
    web, http = _start_web(tmp_path, REDIS_URL=own_redis.url)
    try:
        assert http.post(*trigger, token=token).status == 202
        # Given idempotent runs queued behind one in progress
        queued = [
            send(own_redis.url, "tests.faults.work_idempotent", seconds=1) for _ in range(RUNS)
        ]
        wait_for(lambda: count(own_redis, "started", queued[0]) == 1, timeout=60, what="start")

        # When Redis is killed (no shutdown save), stays down a while, then starts again
        own_redis.stop(signal.SIGKILL)
        down = http.post(*trigger, token=token)
        assert down.status == 503, down.raw[:300]
        assert down.headers.get("retry-after")
        assert Run.objects.count() == 1  # the refused trigger left no run behind
        time.sleep(2)
        own_redis.start()

        # Then every queued run completes, and the worker (still the same process) goes on
        for task_id in queued:
            row = wait_for(
                lambda t=task_id: result_row(t, "SUCCESS", "FAILURE"),
                timeout=90,
                what="a run queued before the crash",
            )
            assert row.status == "SUCCESS", row.result
        assert all(count(own_redis, "done", t) >= 1 for t in queued)
        assert worker.popen.poll() is None
        after = send(own_redis.url, "tests.faults.work_once")
        wait_for(lambda: result_row(after, "SUCCESS"), timeout=60, what="a run sent after")

        # And the web server publishes again on its own
        assert wait_for(
            lambda: http.post(*trigger, token=token).status == 202,
            timeout=30,
            interval=1,
            what="the web server to publish again",
        )
    finally:
        web.stop()
        worker.stop()
