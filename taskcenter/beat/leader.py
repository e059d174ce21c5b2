"""The beat leader lease: exactly one beat process dispatches.

The lease is a Redis key (`SET NX PX` with a random token, renewed by compare-and-set) or,
with the embedded default (no Redis), a database row. The holder trusts its lease only
until `acquired + ttl * SAFETY` on its own monotonic clock, so a leader that could not
renew (Redis away, process stalled) stops dispatching before anyone else may take over.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger(__name__)

#: Fraction of the TTL the holder trusts: leaves room for clock rate drift and the
#: time between checking the lease and publishing one message.
SAFETY = 0.8

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def make_ident() -> str:
    """Return this process's identity: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease:
    """Common bookkeeping: local validity on the monotonic clock."""

    def __init__(self, *, ident: str, ttl: float) -> None:
        self.ident = ident
        self.ttl = ttl
        self._valid_until = 0.0

    def held(self) -> bool:
        """Return True while this process may still dispatch (no I/O)."""
        return time.monotonic() < self._valid_until

    def remaining(self) -> float:
        return max(0.0, self._valid_until - time.monotonic())

    def refresh(self) -> bool:
        """Acquire or renew; return whether this process holds the lease now."""
        started = time.monotonic()
        try:
            ok = self._acquire_or_renew()
        except Exception:  # the store is away: keep what the clock still allows
            logger.warning("beat lease store unavailable", exc_info=True)
            return self.held()
        self._valid_until = started + self.ttl * SAFETY if ok else 0.0
        return ok

    def release(self) -> None:
        self._valid_until = 0.0
        try:
            self._release()
        except Exception:
            logger.warning("could not release the beat lease", exc_info=True)

    def holder(self) -> str | None:
        raise NotImplementedError

    def _acquire_or_renew(self) -> bool:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError


class RedisLease(Lease):
    """Lease in Redis: `SET key ident NX PX ttl`, renewed only by its holder."""

    def __init__(self, *, url: str, key: str, ident: str, ttl: float) -> None:
        import redis

        super().__init__(ident=ident, ttl=ttl)
        self.key = key
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._renew = self.client.register_script(_RENEW)
        self._release_script = self.client.register_script(_RELEASE)

    def _acquire_or_renew(self) -> bool:
        ttl_ms = int(self.ttl * 1000)
        if self._renew(keys=[self.key], args=[self.ident, ttl_ms]):
            return True
        return bool(self.client.set(self.key, self.ident, nx=True, px=ttl_ms))

    def _release(self) -> None:
        self._release_script(keys=[self.key], args=[self.ident])

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if value else None


class DatabaseLease(Lease):
    """Lease in the `BeatLease` row: taken when free or expired, renewed by its holder."""

    def __init__(self, *, key: str, ident: str, ttl: float) -> None:
        super().__init__(ident=ident, ttl=ttl)
        self.key = key

    def _acquire_or_renew(self) -> bool:
        from taskcenter.models import BeatLease

        now = timezone.now()
        expires = now + timedelta(seconds=self.ttl)
        with transaction.atomic():
            taken = BeatLease.objects.filter(
                Q(holder=self.ident) | Q(expires_at__lt=now), name=self.key
            ).update(holder=self.ident, expires_at=expires)
            if taken:
                return True
            _, created = BeatLease.objects.get_or_create(
                name=self.key, defaults={"holder": self.ident, "expires_at": expires}
            )
            return created

    def _release(self) -> None:
        from taskcenter.models import BeatLease

        BeatLease.objects.filter(name=self.key, holder=self.ident).delete()

    def holder(self) -> str | None:
        from taskcenter.models import BeatLease

        row = BeatLease.objects.filter(name=self.key, expires_at__gte=timezone.now()).first()
        return row.holder if row else None


def lease_for(*, redis_url: str, key: str, ident: str, ttl: float) -> Lease:
    """Return the Redis lease when Redis is configured, else the database lease."""
    if redis_url:
        return RedisLease(url=redis_url, key=key, ident=ident, ttl=ttl)
    return DatabaseLease(key=key, ident=ident, ttl=ttl)
