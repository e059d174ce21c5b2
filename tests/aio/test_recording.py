"""AnyIO runs' states stored as TaskResult rows (real MySQL), on asyncio and trio."""

import functools
import json

import anyio
import pytest
from anyio import to_thread
from django_celery_results.models import TaskResult

from jobs.demo import pause
from taskcenter.aio.manager import TaskManager
from taskcenter.aio.recording import RunRecorder

pytestmark = [pytest.mark.anyio, pytest.mark.services, pytest.mark.django_db(transaction=True)]


async def _row(task_id: str) -> TaskResult | None:
    return await to_thread.run_sync(lambda: TaskResult.objects.filter(task_id=task_id).first())


async def _recorded(runs: dict[str, dict], *, delay: float, watch: str | None = None) -> list:
    """Run `runs` (id -> pause kwargs) through a manager and a recorder; return what `watch`
    looked like while it ran."""
    recorder = RunRecorder(started_delay=delay)
    seen: list = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(recorder.serve)
        async with TaskManager(listener=recorder, default_timeout=1.0) as manager:
            for task_id, kwargs in runs.items():
                manager.add_task(
                    functools.partial(pause, **kwargs),
                    name="jobs.demo.pause",
                    task_id=task_id,
                    meta={"run": True, "kwargs": kwargs},
                )
            if watch:
                with anyio.fail_after(20):
                    while not (row := await _row(watch)):
                        await anyio.sleep(0.05)
                seen.append(row.status)
        tg.cancel_scope.cancel()
    await recorder.flush()
    return seen


async def test_short_run_is_stored_once_final_and_a_long_one_shows_started():
    seen = await _recorded(
        {"aio-short": {"seconds": 0}, "aio-long": {"seconds": 0.8}}, delay=0.3, watch="aio-long"
    )

    short, long = await _row("aio-short"), await _row("aio-long")
    assert seen == ["STARTED"]
    assert short.status == "SUCCESS"
    assert json.loads(short.result) == 0
    assert json.loads(short.task_kwargs) == {"seconds": 0}
    assert short.date_started is not None
    assert short.worker.startswith("aio@")
    assert long.status == "SUCCESS"


async def test_failed_and_timed_out_runs_are_stored_as_failures_with_their_cause():
    await _recorded(
        {"aio-fails": {"seconds": 0, "fail": True}, "aio-slow": {"seconds": 5}}, delay=0
    )

    failed, slow = await _row("aio-fails"), await _row("aio-slow")
    assert failed.status == "FAILURE"
    assert json.loads(failed.result)["exc_type"] == "RuntimeError"
    assert "failed on purpose" in failed.traceback
    assert slow.status == "FAILURE"
    assert json.loads(slow.result) == {
        "exc_type": "TimeoutError",
        "exc_message": "timed out after 1 s",
    }
