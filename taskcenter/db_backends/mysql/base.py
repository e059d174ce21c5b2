"""Django's MySQL backend, minus a ping per request on a connection that just worked.

With CONN_HEALTH_CHECKS, Django pings a persistent connection before the first query of
every request: one extra round trip on each API call. Like HikariCP's
`aliveBypassWindowMs`, the ping is skipped when the connection served a request without a
database error less than HEALTH_CHECK_BYPASS seconds ago. A connection idle for longer
is still pinged, and Django still closes a broken one when a request ends (after a
database error it pings then), so a server restart costs at most the requests already
in flight or arriving within that second (answered 503 by the API), never a broken pool.
`TASKCENTER_FAST_DB_BACKEND=false` uses Django's own backend.
"""

from __future__ import annotations

import time

from django.db.backends.mysql import base

#: Seconds after a request that used the connection without error, during which the next
#: request trusts it without a ping.
HEALTH_CHECK_BYPASS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    _known_good_at: float = float("-inf")

    def close_if_unusable_or_obsolete(self) -> None:
        # Called when a request (or a Celery task) starts and when it ends. At an end,
        # health_check_done says the request opened a cursor on this connection.
        used = self.connection is not None and self.health_check_done and not self.errors_occurred
        super().close_if_unusable_or_obsolete()
        if used and self.connection is not None:
            self._known_good_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and time.monotonic() - self._known_good_at < HEALTH_CHECK_BYPASS
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
