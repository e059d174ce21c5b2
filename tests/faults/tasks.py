"""Jobs only the fault tests' workers import (`celery worker -I tests.faults.tasks`).

Each one counts its starts and ends in Redis (REDIS_URL, the broker itself on Redis:
`faults:started:<id>`, `faults:done:<id>`) and leaves its process id, so a test can kill
the right process and then tell how often the run really ran.
"""

import os
import signal
import time
from functools import cache

import redis
from celery import current_task
from django.conf import settings

from taskcenter.catalog import celery_job


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _count(key: str, pid: bool = False) -> None:
    """Count in Redis, waiting out a broker restart (up to a minute)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            pipe = _redis().pipeline()
            if pid:
                pipe.set(key.replace(":started:", ":pid:"), os.getpid())
            pipe.incr(key)
            pipe.execute()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _started() -> str:
    task_id = current_task.request.id
    _count(f"faults:started:{task_id}", pid=True)
    return task_id


def _done(task_id: str) -> None:
    _count(f"faults:done:{task_id}")


@celery_job("tests.faults.work_idempotent", queue="faults", idempotent=True)
def work_idempotent(seconds: float = 0.0) -> float:
    """Sleep `seconds`; running it twice does no harm."""
    task_id = _started()
    time.sleep(seconds)
    _done(task_id)
    return seconds


@celery_job("tests.faults.work_once", queue="faults")
def work_once(seconds: float = 0.0) -> float:
    """Sleep `seconds`; must not run twice."""
    task_id = _started()
    time.sleep(seconds)
    _done(task_id)
    return seconds


@celery_job("tests.faults.kill_own_worker", queue="faults", idempotent=True)
def kill_own_worker() -> None:
    """Kill the worker process running it, every time it is delivered."""
    _started()
    os.kill(os.getpid(), signal.SIGKILL)


@celery_job("tests.faults.overrun", queue="faults", time_limit=2, soft_time_limit=None)
def overrun(seconds: float = 30.0) -> float:
    """Sleep far past its own two-second hard time limit."""
    task_id = _started()
    time.sleep(seconds)
    _done(task_id)
    return seconds
