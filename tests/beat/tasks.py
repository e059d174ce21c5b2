"""Tasks only the beat tests' own worker imports (`celery worker -I tests.beat.tasks`)."""

import time

from celery import shared_task


@shared_task(name="tests.beat.sleep")
def sleep(seconds: float) -> float:
    """Stay busy for `seconds`, so the next slot finds the previous run still running."""
    time.sleep(seconds)
    return seconds
