"""Celery canvas for catalog jobs: chain, group and chord of validated steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from celery import chain as celery_chain
from celery import chord as celery_chord
from celery import group as celery_group
from celery.canvas import Signature
from celery.result import AsyncResult

from taskcenter.catalog import Runtime, get_job


@dataclass(frozen=True)
class Step:
    """One catalog job in a workflow.

    With `receives_previous`, the job's first parameter is filled at run time: in a
    chain with the previous step's result, as a chord's callback with the list of the
    header's results. Otherwise the step ignores what came before (an immutable signature).
    `kwargs` are already validated (`Job.validate`, or `Job.validate_after_first` for a
    step that receives the previous result): the service taking the request checks them.
    """

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    task_id: str | None = None
    receives_previous: bool = False


def signature(step: Step) -> Signature:
    """Return the Celery signature of a catalog job's step."""
    job = get_job(step.name, Runtime.CELERY)
    options = {"task_id": step.task_id} if step.task_id else {}
    return job.task.signature(kwargs=step.kwargs, immutable=not step.receives_previous, **options)


def chain(steps: Sequence[Step]) -> AsyncResult:
    """Send the steps as one chain; return the last step's result."""
    signatures = [signature(step) for step in steps]
    return celery_chain(*signatures).apply_async()


def group(steps: Sequence[Step]) -> AsyncResult:
    """Send the steps to run in parallel; return the GroupResult."""
    signatures = [signature(step) for step in steps]
    return celery_group(signatures).apply_async()


def chord(header: Sequence[Step], callback: Step) -> AsyncResult:
    """Send the header, then the callback with the header's results."""
    signatures = [signature(step) for step in header]
    body = signature(callback)
    return celery_chord(signatures)(body)
