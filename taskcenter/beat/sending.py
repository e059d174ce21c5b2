"""Publishing one claimed slot, and recording what did not go as planned.

Part of TaskcenterScheduler (see scheduler.py), kept apart so each module stays small:
the overlap check, the publish with its revert-on-failure, and missed-slot records.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from taskcenter.beat import records
from taskcenter.beat.entry import TaskcenterEntry
from taskcenter.models import ScheduleEvent

logger = logging.getLogger("taskcenter.beat.scheduler")

#: Longest wait between publish retries of one schedule while the broker is away.
MAX_RETRY_DELAY = 15.0


class SendingMixin:
    """Publish claimed slots for TaskcenterScheduler; see its module docstring."""

    def _overlaps(self, entry: TaskcenterEntry, decision, now: datetime) -> bool:
        if entry.overlap != "skip" or not records.run_still_busy(
            task_name=entry.name,
            last_task_id=entry.last_task_id,
            last_sent_at=entry.last_sent_at,
            now=now,
        ):
            return False
        logger.info(
            "beat: skipping %s at %s: previous run still running", entry.name, decision.slot
        )
        records.event_record(
            task_id=entry.model.pk,
            kind=ScheduleEvent.Kind.SKIPPED_OVERLAP,
            slot=decision.slot,
            reason=f"previous run {entry.last_task_id or ''} still running",
        )
        return True

    def _send(self, entry: TaskcenterEntry, decision, previous):
        """Publish one claimed slot; on failure revert the claim and return the model."""
        error = None
        if not self.lease.held():
            # Still inside the TTL's safety margin: nobody else can hold it yet, so the
            # claim is reverted and the next leader sends this slot.
            error = "leader lease expired before publishing"
        elif time.monotonic() < self._broker_down_until:
            error = "broker unavailable (a publish just failed)"
        else:
            try:
                # The slot travels with the message, so consumers can de-duplicate.
                entry.options["headers"]["taskcenter_slot"] = decision.last_run_at.isoformat()
                result = self.apply_async(entry, producer=self.producer, advance=False)
            except Exception as exc:
                error = f"broker unavailable: {exc}"
                self._broker_down_until = time.monotonic() + 1.0
                logger.warning("beat: could not publish %s: %s", entry.name, exc)
        if error is None:
            entry.last_task_id = getattr(result, "id", None)
            entry.last_sent_at = _now()
            entry.retry_delay = 0.0
            logger.info("beat: sent %s for slot %s", entry.name, decision.slot)
            if entry.pending or decision.missed:
                self._record_missed(entry, decision, ScheduleEvent.Outcome.RAN_ONCE)
            return None
        entry.last_run_at, entry.model.total_run_count = previous
        entry.model.last_run_at = entry.last_run_at
        if not entry.pending and self.lease.held():
            records.event_pending_record(task_id=entry.model.pk, slot=decision.slot, reason=error)
            entry.pending = True
        entry.retry_delay = min(max(1.0, entry.retry_delay * 2), MAX_RETRY_DELAY)
        entry.version += 1  # drop the heap item pushed for the next slot: retry this one
        self._push(entry, time.time() + entry.retry_delay)
        return entry.model

    def _record_missed(self, entry: TaskcenterEntry, decision, outcome: str) -> None:
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


def _now() -> datetime:
    return datetime.now(UTC)
