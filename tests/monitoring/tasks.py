"""Tasks only the monitoring tests' own worker imports (`-I tests.monitoring.tasks`)."""

import logging
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

logger = logging.getLogger(__name__)


@shared_task(name="tests.monitoring.ok")
def ok(seconds: float = 0.0) -> float:
    """Succeed after `seconds`."""
    time.sleep(seconds)
    return seconds


@shared_task(name="tests.monitoring.boom")
def boom() -> None:
    """Fail at once, with no retry."""
    raise ValueError("boom")


@shared_task(bind=True, name="tests.monitoring.flaky", max_retries=1, default_retry_delay=0)
def flaky(self) -> None:
    """Fail, retry once, then fail for good."""
    raise self.retry(exc=ConnectionError("downstream down"), countdown=0)


@shared_task(name="tests.monitoring.overrun")
def overrun(seconds: float = 10.0) -> None:
    """Sleep `seconds`, ignoring the soft limit: sent with shorter limits, the worker kills it."""
    try:
        time.sleep(seconds)
    except SoftTimeLimitExceeded:
        time.sleep(seconds)


@shared_task(name="tests.monitoring.maybe")
def maybe(fail: bool = False) -> bool:
    """Fail when asked to, else succeed: a job that breaks and heals."""
    if fail:
        raise RuntimeError("asked to fail")
    return True


@shared_task(name="tests.monitoring.chatty")
def chatty(word: str) -> str:
    """Log a line naming `word` and a credential the log must not show."""
    logger.info("working on %s with password=hunter2", word)
    return word
