"""Demo jobs: arithmetic for workflows, a slow job, a flaky one (Celery, `default` queue),
and a pause run in the web process (AnyIO)."""

from typing import Annotated

from pydantic import Field

from jobs.logic import demo
from taskcenter.catalog import RetryPolicy, aio_job, celery_job


@celery_job("jobs.demo.add", idempotent=True)
def add(x: int, y: int) -> int:
    """Add two integers (a building block for chains and chords)."""
    return demo.numbers_add(x=x, y=y)


@celery_job("jobs.demo.total", idempotent=True)
def total(values: list[int]) -> int:
    """Sum a list of integers (a chord callback receives its header's results here)."""
    return demo.numbers_sum(values=values)


@celery_job("jobs.demo.slow", idempotent=True)
def slow(
    seconds: Annotated[float, Field(ge=0, le=60)] = 2.0,
    steps: Annotated[int, Field(ge=1, le=100)] = 4,
) -> int:
    """Work for `seconds`, reporting progress `steps` times."""
    return demo.work_slowly(seconds=seconds, steps=steps)


@celery_job(
    "jobs.demo.call_downstream",
    # Short waits (1 s, then 2 s) so a demo, and the tests, see the whole retry cycle in
    # seconds. No jitter here: Celery's full jitter can draw a 0 s wait, and then the RETRY
    # state would flash by unseen; jobs talking to real services keep it (see email.py).
    retry=RetryPolicy(on=(ConnectionError,), max_retries=2, backoff=1, backoff_max=2, jitter=False),
)
def call_downstream(name: str) -> str:
    """Call a downstream service that may be down; retried with backoff, then dead-lettered."""
    return demo.downstream_call(name=name)


@aio_job("jobs.demo.pause")
async def pause(seconds: Annotated[float, Field(ge=0, le=60)] = 1.0, fail: bool = False) -> float:
    """Wait `seconds` in the web process that took the trigger (fail at the end if asked)."""
    return await demo.pause_for(seconds=seconds, fail=fail)
