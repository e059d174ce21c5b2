"""URL health checks: an AnyIO job, and a local job running it on URL_CHECK_TARGETS."""

import logging
from typing import Any

from django.conf import settings

from jobs.logic.url_checks import urls_check
from taskcenter.catalog import aio_job, local_job

logger = logging.getLogger(__name__)


@aio_job("jobs.health.check_urls")
async def check_urls(
    urls: list[str], capacity: int = 8, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """GET each URL concurrently (at most `capacity` at once) and report which answer."""
    return await urls_check(urls=urls, capacity=capacity, timeout=timeout)


@local_job("jobs.health.check_configured_urls", trigger="interval", minutes=5, jitter=10)
async def check_configured_urls() -> list[dict[str, Any]]:
    """Check URL_CHECK_TARGETS every five minutes and log each one that is down."""
    results = await check_urls(settings.URL_CHECK_TARGETS, capacity=settings.URL_CHECK_CAPACITY)
    for result in results:
        if not result["ok"]:
            logger.warning(
                "url check failed: %s (%s)", result["url"], result["error"] or result["status"]
            )
    return results
