"""Workflows: chains, groups and chords of catalog jobs, validated as a whole, then sent."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from taskcenter import dispatch
from taskcenter.catalog import JobArgumentsError
from taskcenter.models import Run, Workflow
from taskcenter.services.runs import BrokerUnavailableError, job_triggerable


@dataclass(frozen=True)
class WorkflowStep:
    job: str
    args: list[Any]
    kwargs: dict[str, Any]
    receives_previous: bool = False


def workflow_submit(
    *,
    user: AbstractBaseUser,
    kind: str,
    steps: Sequence[WorkflowStep],
    callback: WorkflowStep | None = None,
) -> tuple[Workflow, list[Run]]:
    """Validate every step (and the chord's callback) as a whole, then record and send.

    Field errors are keyed by position (`steps.1.kwargs.x`, `callback.y`), and nothing is
    sent unless all of them are valid.
    """
    if kind == Workflow.Kind.CHORD and callback is None:
        raise JobArgumentsError({"callback": _("a chord needs a callback")})
    if kind != Workflow.Kind.CHORD and callback is not None:
        raise JobArgumentsError({"callback": _("only a chord has a callback")})
    labelled = [(f"steps.{i}", s) for i, s in enumerate(steps)]
    if callback is not None:
        labelled.append(("callback", callback))
    errors: dict[str, str] = {}
    planned: list[tuple[dispatch.Step, dict[str, Any]]] = []
    for label, step in labelled:
        job = job_triggerable(user=user, name=step.job)
        receives = step.receives_previous and (kind == "chain" or label == "callback")
        validate = job.validate_after_first if receives else job.validate
        try:
            bound = validate(list(step.args), step.kwargs)
        except JobArgumentsError as exc:
            errors.update({f"{label}.{k}": v for k, v in exc.errors.items()})
            continue
        dstep = dispatch.Step(
            name=step.job, kwargs=bound, task_id=str(uuid.uuid4()), receives_previous=receives
        )
        planned.append((dstep, bound))
    if errors:
        raise JobArgumentsError(errors)
    with transaction.atomic():
        workflow = Workflow.objects.create(id=str(uuid.uuid4()), kind=kind, user=user)
        runs = [
            Run(id=s.task_id, job=s.name, kwargs=kw, user=user, workflow=workflow, step=i)
            for i, (s, kw) in enumerate(planned)
        ]
        Run.objects.bulk_create(runs)
        dsteps = [s for s, _ in planned]
        try:
            if kind == Workflow.Kind.CHAIN:
                dispatch.chain(dsteps)
            elif kind == Workflow.Kind.GROUP:
                dispatch.group(dsteps)
            else:
                dispatch.chord(dsteps[:-1], dsteps[-1])
        except dispatch.BROKER_ERRORS as exc:
            raise BrokerUnavailableError("the task broker is unreachable") from exc
    return workflow, runs
