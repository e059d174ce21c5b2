"""A per-user limit on triggers: a fixed window counted in Redis, shared by all web workers."""

from __future__ import annotations

import logging
import math
import time

import redis
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

_client: redis.Redis | None = None


class RateLimitedError(Exception):
    """Too many triggers in the current window; `retry_after` seconds until the next."""

    def __init__(self, retry_after: int):
        super().__init__(f"rate limit reached; retry after {retry_after} s")
        self.retry_after = retry_after


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        # Short timeouts: the limiter must never be what makes a request slow.
        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5
        )
    return _client


def trigger_limit_check(*, user_id: int) -> None:
    """Count one trigger for `user_id`; raise RateLimitedError past the limit.

    The limit is API_TRIGGER_RATE_LIMIT triggers per API_TRIGGER_RATE_WINDOW seconds.
    When Redis does not answer the request is let through (the broker check that follows
    answers 503 if the broker is down too): a limiter is no reason to refuse work.
    """
    limit = settings.API_TRIGGER_RATE_LIMIT
    window = settings.API_TRIGGER_RATE_WINDOW
    if limit <= 0:
        return
    now = time.time()
    start = int(now // window * window)
    key = f"taskcenter:ratelimit:trigger:{user_id}:{start}"
    try:
        if settings.REDIS_URL:
            pipe = _redis().pipeline()
            pipe.incr(key)
            pipe.expire(key, window + 1)
            count = pipe.execute()[0]
        else:
            cache.add(key, 0, window + 1)
            count = cache.incr(key)
    except (redis.RedisError, OSError, ValueError):
        logger.warning("rate limiter unavailable; letting the request through", exc_info=True)
        return
    if count > limit:
        raise RateLimitedError(max(1, math.ceil(start + window - now)))
