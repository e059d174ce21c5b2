"""TaskcenterScheduler: django-celery-beat's DatabaseScheduler with one leader, an
incremental change feed, a heap keyed by schedule and slots stored before they are sent.

What differs from the stock scheduler, and why:
- Only the holder of the leader lease (taskcenter.beat.leader) dispatches, and it checks
  the lease before every message; a standby only tries to take the lease.
- Changes come from the trigger-fed change feed (taskcenter.beat.changes; the triggers
  in taskcenter.beat.triggers), so bulk and raw SQL edits arrive; only the changed rows
  are reloaded and re-heaped, and there is no O(N) `schedules_equal` pass per tick.
- The slot being dispatched is written as `last_run_at` before the message is published
  (at-most-once), reverted if the publish fails, and never kept only in memory, so a
  restart or a new leader neither repeats nor loses a slot.
- Missed slots (broker down, beat down) and overlap skips are recorded as ScheduleEvent
  and handled by the schedule's catch-up policy (taskcenter.beat.slots.plan).
"""

from __future__ import annotations

import functools
import logging
import signal
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django_celery_beat.schedulers import DatabaseScheduler

from taskcenter.beat import records
from taskcenter.beat.changes import ChangeFeed
from taskcenter.beat.entry import Gate, TaskcenterEntry
from taskcenter.beat.heap import DueHeap
from taskcenter.beat.leader import lease_for, make_ident
from taskcenter.beat.sender import SlotSender, missed_record, overlaps
from taskcenter.beat.slots import Action, plan
from taskcenter.models import ScheduleEvent
from taskcenter.results.pending_rows import pending_buffer_start, pending_flush

logger = logging.getLogger(__name__)

#: Most entries handled in one tick, so lease renewal and change polls keep their pace.
MAX_BATCH = 500
#: Wake-ups are at least this far apart unless a full batch left a backlog: entries
#: falling due in the meantime go out in one batch (one UPDATE, one broker round trip,
#: one INSERT of PENDING rows), at most this much later. At 333 dispatches a second that
#: is ~33 per batch; wake-ups chasing each new due entry were ~100 a second of 3 each.
BATCH_WINDOW = 0.1


class TaskcenterScheduler(DatabaseScheduler):
    """Database scheduler for `celery -A config beat` (see the module docstring)."""

    Entry = TaskcenterEntry

    def __init__(self, *args, **kwargs) -> None:
        pending_buffer_start()
        self.ident = make_ident()
        self.ttl = float(settings.TASKCENTER_BEAT_LEASE_TTL)
        self.poll_interval = float(settings.TASKCENTER_BEAT_POLL_INTERVAL)
        self.grace = float(settings.TASKCENTER_BEAT_MISSED_GRACE)
        self.lease = lease_for(
            redis_url=settings.REDIS_URL,
            key=settings.TASKCENTER_BEAT_LEASE_KEY,
            ident=self.ident,
            ttl=self.ttl,
        )
        self.feed = ChangeFeed()
        self.heap = DueHeap()
        self.sender = SlotSender(
            lease=self.lease,
            publish=functools.partial(self.apply_async, advance=False),
            push=self.heap.push,
        )
        self._entries: dict[int, TaskcenterEntry] = {}
        self._leader_since: datetime | None = None
        self._next_lease = self._next_poll = self._next_beat = 0.0
        self._next_housekeeping = time.monotonic() + 60
        self._closed = self._stop_requested = False
        super().__init__(*args, **kwargs)
        if not kwargs.get("lazy"):
            self._defer_stop_signals()
        if not settings.TASKCENTER_BEAT_SENT_EVENTS:
            # Beat records each dispatch itself (slot in the row and in the message); the
            # extra "task-sent" event per message is a second publish that costs about a
            # third of beat's CPU at 333 dispatches/s. Only this process is affected.
            self.app.conf.task_send_sent_event = False

    # --- setup and shutdown -------------------------------------------------------------

    def setup_schedule(self) -> None:
        self.install_default_entries(None)
        self.update_from_dict(self.app.conf.beat_schedule)
        records.instance_register(ident=self.ident, now=_now())
        logger.info("beat %s: started, standing by until it holds the leader lease", self.ident)

    def update_from_dict(self, mapping) -> None:
        """Write static entries (beat_schedule, backend cleanup) as rows; the feed loads them."""
        for name, fields in (mapping or {}).items():
            try:
                self.Entry.from_entry(name, app=self.app, **fields)
            except Exception:
                logger.exception("Cannot add entry %r to the database schedule", name)

    def sync(self) -> None:
        """Nothing to flush: slots are written when they are claimed."""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            pending_flush()
        except DatabaseError:
            logger.warning("could not record PENDING rows at stop", exc_info=True)
        if self._leader_since is not None:
            logger.info("beat %s: stopping, releasing the leader lease", self.ident)
        self.lease.release()
        try:
            records.instance_stop(ident=self.ident)
        except DatabaseError:
            logger.warning("could not remove beat instance record", exc_info=True)
        super().close()

    def _defer_stop_signals(self) -> None:
        """Stop at the next tick on SIGTERM/SIGINT instead of inside a dispatch batch.

        Celery's beat handler raises SystemExit wherever the main thread is, which can be
        between storing a claimed slot and publishing it: that slot would be lost. The
        loop sleeps at most half a second between ticks, so stopping stays prompt.
        """

        def request_stop(signum, frame) -> None:
            self._stop_requested = True

        self._stop_requested = False
        try:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, request_stop)
        except ValueError:  # not the main thread (beat embedded in a worker): keep Celery's
            pass

    @property
    def schedule(self) -> dict[str, TaskcenterEntry]:
        return {entry.name: entry for entry in self._entries.values()}

    # --- the loop ----------------------------------------------------------------------

    def tick(self, *args, **kwargs) -> float:
        """Renew the lease, apply changes, dispatch what is due; return seconds to sleep."""
        if self._closed or self._stop_requested:
            # Between two ticks no slot is half-dispatched: a safe place to stop.
            self.close()
            raise SystemExit()
        clock = time.monotonic()
        try:
            if clock >= self._next_lease:
                self._maintain_lease()
                # The leader renews every second; a standby asks more often, so it takes
                # over within a quarter second of the lease expiring.
                renew = min(1.0, self.ttl / 4)
                self._next_lease = clock + (renew if self._leader_since else min(0.25, renew))
            if self._leader_since is None:
                return min(0.25, self.max_interval)
            if clock >= self._next_poll:
                close_old_connections()
                self._apply_changes()
                self._next_poll = clock + self.poll_interval
            if clock >= self._next_housekeeping:
                records.housekeeping(now=_now())
                self._next_housekeeping = clock + 600
            return self._dispatch_due()
        except DatabaseError:
            logger.exception("beat %s: database error, retrying", self.ident)
            close_old_connections()
            return 1.0

    def _maintain_lease(self) -> None:
        leading = self.lease.refresh()
        now = _now()
        if leading and self._leader_since is None:
            self._leader_since = now
            logger.info(
                "beat %s: leading (lease ttl %ss); loading the schedule", self.ident, self.ttl
            )
            self._load_all()
        elif not leading and self._leader_since is not None:
            self._step_down("lost the leader lease")
        elif not leading and time.monotonic() >= self._next_beat:
            logger.debug("beat %s: standing by (leader %s)", self.ident, self.lease.holder())
        if time.monotonic() >= self._next_beat:
            records.instance_heartbeat(
                ident=self.ident, is_leader=leading, leader_since=self._leader_since, now=now
            )
            self._next_beat = time.monotonic() + 1.0

    def _step_down(self, why: str) -> None:
        logger.warning("beat %s: standing by: %s", self.ident, why)
        self._leader_since = None
        self._entries.clear()
        self.heap.clear()

    # --- schedule loading ----------------------------------------------------------------

    def _rows(self):
        return self.Model.objects.select_related(
            "interval", "crontab", "solar", "clocked", "settings"
        )

    def _load_all(self) -> None:
        self.sender.reset()  # a new leadership tries the broker afresh
        self.feed.start()
        self._entries.clear()
        self.heap.clear()
        self._install(list(self._rows().filter(enabled=True)))
        # Publishes that failed under an earlier leader are resolved by this one.
        for task_id in records.tasks_with_pending_events():
            if task_id in self._entries:
                self._entries[task_id].pending = True

    def _apply_changes(self) -> None:
        batch = self.feed.poll()
        if not batch.feed_ids:
            return
        rows = list(self._rows().filter(pk__in=batch.task_ids, enabled=True))
        old = {pk: self._entries.pop(pk) for pk in batch.task_ids if pk in self._entries}
        self._install(rows, old)
        records.changes_mark_applied(feed_ids=batch.feed_ids, now=_now())
        logger.info("beat %s: applied %d schedule change(s)", self.ident, len(batch.task_ids))

    def _install(self, rows, old: dict[int, TaskcenterEntry] | None = None) -> None:
        fresh = []
        for row in rows:
            try:
                entry = self.Entry(row, app=self.app)
            except ValueError:
                logger.exception("Cannot load schedule %r", row.name)
                continue
            if old and row.pk in old:
                entry.carry_over(old[row.pk])
            if entry.needs_persist:
                fresh.append(entry.model)
            self._entries[row.pk] = entry
            self.heap.push(entry, time.time())
        records.slots_store(models=fresh)

    # --- dispatch ------------------------------------------------------------------------

    def _dispatch_due(self) -> float:
        if not self.lease.held():
            self._step_down("the leader lease expired before it could be renewed")
            return min(0.5, self.max_interval)
        started, now = time.monotonic(), _now()
        claimed, to_send = [], []
        due = self.heap.pop_due(self._entries, now=time.time(), limit=MAX_BATCH)
        for entry in due:
            gate, until = entry.gate(now)
            if gate == Gate.DROP:
                self._entries.pop(entry.model.pk, None)
                continue
            if gate == Gate.WAIT:
                self.heap.push(entry, until.timestamp())
                continue
            decision = plan(
                entry.schedule,
                entry.last_run_at,
                now=now,
                grace=self.grace,
                catch_up=entry.catch_up,
                deadline=entry.catch_up_deadline,
            )
            if decision.action == Action.WAIT:
                self.heap.push(entry, decision.next_at.timestamp())
                continue
            previous = (entry.last_run_at, entry.model.total_run_count)
            entry.last_run_at = entry.model.last_run_at = decision.last_run_at
            claimed.append(entry.model)
            if decision.action == Action.SEND and not overlaps(entry, decision, now):
                entry.model.total_run_count += 1
                to_send.append((entry, decision, previous))
            elif decision.action == Action.SKIP:
                missed_record(entry, decision, ScheduleEvent.Outcome.SKIPPED)
            self.heap.push(entry, decision.next_at.timestamp())
        records.slots_store(models=claimed)
        if to_send:
            records.slots_store(models=self.sender.send_all(to_send, producer=self.producer))
        pending_flush()
        if not self.heap:
            return self.poll_interval
        if len(due) >= MAX_BATCH:
            return 0.0  # a backlog: no pause until it is sent
        wait = self.heap.next_at() - time.time()
        window = BATCH_WINDOW - (time.monotonic() - started)
        return max(0.0, min(max(wait, window), self.poll_interval))


def _now() -> datetime:
    return datetime.now(UTC)
