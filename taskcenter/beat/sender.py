"""Publishing claimed slots, and recording what did not go as planned.

`SlotSender` publishes the slots TaskcenterScheduler (scheduler.py) has claimed, in one
broker round trip where the transport batches, and un-claims what did not leave. It gets
what it needs from the scheduler explicitly (the lease, the publish and re-heap callables,
the producer per batch) and owns the one piece of state it needs: how long to leave the
broker alone after a failure. `overlaps` and `missed_record` are the two decisions the
scheduler also takes for slots it does not send.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django_celery_beat.models import PeriodicTask

from taskcenter.beat import records
from taskcenter.beat.entry import TaskcenterEntry
from taskcenter.beat.leader import Lease
from taskcenter.models import ScheduleEvent
from taskcenter.results.pending_rows import pending_discard

logger = logging.getLogger("taskcenter.beat.scheduler")

#: Longest wait between publish retries of one schedule while the broker is away.
MAX_RETRY_DELAY = 15.0
#: Redis commands a publish batch may hold before kombu flushes it on its own: far above
#: what one dispatch batch needs (MAX_BATCH messages, one LPUSH each), so a batch leaves
#: in exactly one pipeline and is either settled or reverted as a whole.
PIPELINE_LIMIT = 100_000
#: After a failed publish, further publishes wait this long: a broker that just refused
#: one message would make every other message of the batch wait for its own timeout.
BROKER_PAUSE = 1.0


class _NotPublished(Exception):
    """Raised inside a publish batch to discard it before anything was sent."""


class SlotSender:
    """Publish claimed slots; revert and re-heap for retry those that did not leave.

    `publish(entry, producer)` sends one entry's message and returns its AsyncResult
    (the scheduler's `apply_async` without advancing the entry); `push(entry, at)` puts
    the entry back on the scheduler's heap at Unix time `at`.
    """

    def __init__(
        self,
        *,
        lease: Lease,
        publish: Callable[[TaskcenterEntry, Any], Any],
        push: Callable[[TaskcenterEntry, float], None],
    ) -> None:
        self.lease = lease
        self.publish = publish
        self.push = push
        #: Monotonic time before which no publish is tried (a publish just failed).
        self.broker_down_until = 0.0

    def reset(self) -> None:
        """Try the broker afresh (a new leadership starts)."""
        self.broker_down_until = 0.0

    def send_all(self, to_send: list, *, producer) -> list[PeriodicTask]:
        """Publish claimed slots, in one broker round trip where the transport batches.

        `to_send` holds (entry, decision, previous) for slots already stored as claimed;
        return the models of those not published, their claims reverted in memory. On
        Redis, kombu's `Producer.batch()` buffers the messages (the same bytes a single
        publish writes, signals included) and sends them in one pipeline at the end; on
        transports without batching (the filesystem broker) each publish goes out at once.
        A failed pipeline reverts every slot of the batch: none of it is counted as sent.
        """
        published: list[tuple] = []
        reverted: list[PeriodicTask] = []
        try:
            with producer.batch(max_size=PIPELINE_LIMIT):
                for entry, decision, previous in to_send:
                    error, result = self._publish(entry, decision, producer)
                    if error is None:
                        published.append((entry, decision, previous, result))
                    else:
                        reverted.append(self._revert(entry, decision, previous, error))
                if published and not self.lease.held():
                    raise _NotPublished("leader lease expired before publishing")
        except Exception as exc:
            if isinstance(exc, _NotPublished):
                error = str(exc)
            else:
                error = f"broker unavailable: {exc}"
                self.broker_down_until = time.monotonic() + BROKER_PAUSE
                logger.warning("beat: could not publish %d message(s): %s", len(to_send), exc)
            handled = {entry.model.pk for entry, *_ in published} | {m.pk for m in reverted}
            pending_discard(task_ids=[result.id for *_, result in published])
            unsent = [item for item in to_send if item[0].model.pk not in handled]
            reverted += [self._revert(*item[:3], error) for item in published + unsent]
            return reverted
        for entry, decision, _, result in published:
            self._settle(entry, decision, result)
        return reverted

    def _publish(self, entry: TaskcenterEntry, decision, producer) -> tuple[str | None, Any]:
        """Hand one claimed slot to the producer; return (error, result)."""
        if not self.lease.held():
            # Still inside the TTL's safety margin: nobody else can hold it yet, so the
            # claim is reverted and the next leader sends this slot.
            return "leader lease expired before publishing", None
        if time.monotonic() < self.broker_down_until:
            return "broker unavailable (a publish just failed)", None
        try:
            # The slot travels with the message, so consumers can de-duplicate.
            entry.options["headers"]["taskcenter_slot"] = decision.last_run_at.isoformat()
            return None, self.publish(entry, producer)
        except Exception as exc:
            self.broker_down_until = time.monotonic() + BROKER_PAUSE
            logger.warning("beat: could not publish %s: %s", entry.name, exc)
            return f"broker unavailable: {exc}", None

    def _settle(self, entry: TaskcenterEntry, decision, result) -> None:
        """Note a published slot: its task id, and the missed slots it resolves."""
        entry.last_task_id = getattr(result, "id", None)
        entry.last_sent_at = datetime.now(UTC)
        entry.retry_delay = 0.0
        logger.info("beat: sent %s for slot %s", entry.name, decision.slot)
        if entry.pending or decision.missed:
            missed_record(entry, decision, ScheduleEvent.Outcome.RAN_ONCE)

    def _revert(self, entry: TaskcenterEntry, decision, previous, error: str) -> PeriodicTask:
        """Un-claim a slot that was not published and retry it with backoff."""
        entry.last_run_at, entry.model.total_run_count = previous
        entry.model.last_run_at = entry.last_run_at
        if not entry.pending and self.lease.held():
            records.event_pending_record(task_id=entry.model.pk, slot=decision.slot, reason=error)
            entry.pending = True
        entry.retry_delay = min(max(1.0, entry.retry_delay * 2), MAX_RETRY_DELAY)
        entry.version += 1  # drop the heap item pushed for the next slot: retry this one
        self.push(entry, time.time() + entry.retry_delay)
        return entry.model


def overlaps(entry: TaskcenterEntry, decision, now: datetime) -> bool:
    """Return whether the slot must be skipped (overlap=skip, previous run busy); record it."""
    if entry.overlap != "skip" or not records.run_still_busy(
        task_name=entry.name,
        last_task_id=entry.last_task_id,
        last_sent_at=entry.last_sent_at,
        now=now,
    ):
        return False
    logger.info("beat: skipping %s at %s: previous run still running", entry.name, decision.slot)
    records.event_record(
        task_id=entry.model.pk,
        kind=ScheduleEvent.Kind.SKIPPED_OVERLAP,
        slot=decision.slot,
        reason=f"previous run {entry.last_task_id or ''} still running",
    )
    return True


def missed_record(entry: TaskcenterEntry, decision, outcome: str) -> None:
    """Record missed slots with their outcome, resolving the entry's pending record if any."""
    logger.warning(
        "beat: %s missed %d slot(s) from %s: %s",
        entry.name,
        decision.missed,
        decision.slot,
        outcome,
    )
    if entry.pending:
        entry.pending = False
        resolved = records.events_pending_resolve(
            task_id=entry.model.pk, slots=max(1, decision.missed), outcome=outcome
        )
        if resolved:
            return
    records.event_record(
        task_id=entry.model.pk,
        kind=ScheduleEvent.Kind.MISSED,
        slot=decision.slot,
        slots=decision.missed,
        outcome=outcome,
        reason="not dispatched in time (beat or broker down)",
    )
