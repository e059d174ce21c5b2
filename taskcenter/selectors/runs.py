"""Read runs: a run's status as the API shows it, and which AnyIO runs were asked to stop."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django_celery_results.models import TaskResult

from taskcenter.models import Run
from taskcenter.services.scrub import scrub

#: States after which a run can no longer change.
FINISHED_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
#: States in which a worker holds the run (revoking it only stops it with terminate).
RUNNING_STATES = frozenset({"STARTED", "PROGRESS", "RETRY"})


@dataclass(frozen=True)
class RunStatus:
    id: str
    job: str
    state: str
    percent: float | None
    result: Any
    error: dict[str, str] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    worker: str | None
    revoke_requested: bool
    workflow_id: str | None


def runs_revoke_requested(*, ids: list[str]) -> list[str]:
    """Return those of `ids` whose revoke was requested (by any web process)."""
    return list(
        Run.objects.filter(id__in=ids, revoke_requested_at__isnull=False).values_list(
            "id", flat=True
        )
    )


def run_status(*, run: Run) -> RunStatus:
    """Combine the run record with what the result backend knows about it."""
    row = TaskResult.objects.filter(task_id=run.id).first()
    state = row.status if row else "PENDING"
    stored = _load(row.result) if row else None
    percent = result = error = None
    if state == "PROGRESS" and isinstance(stored, dict):
        percent = stored.get("percent")
    elif state == "SUCCESS":
        result, percent = stored, 100.0
    elif state in ("FAILURE", "RETRY", "REVOKED") and isinstance(stored, dict):
        error = {
            "type": str(stored.get("exc_type", "Error"))[:200],
            "message": scrub(str(stored.get("exc_message", ""))),
        }
    return RunStatus(
        id=run.id,
        job=run.job,
        state=state,
        percent=percent,
        result=result,
        error=error,
        created_at=run.created_at,
        started_at=row.date_started if row else None,
        finished_at=row.date_done if row and state in FINISHED_STATES else None,
        attempts=run.attempts,
        worker=(row.worker or None) if row else None,
        revoke_requested=run.revoke_requested_at is not None,
        workflow_id=run.workflow_id,
    )


def _load(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
