"""`/api/workflows`: chains, groups and chords of catalog jobs, validated as a whole."""

from django.http import HttpRequest
from ninja import Router

from taskcenter.api.errors import Error, FieldErrors
from taskcenter.api.ratelimit import trigger_limit_check
from taskcenter.api.runs import run_status_url
from taskcenter.api.schemas import StepIn, WorkflowIn, WorkflowOut, WorkflowRunOut
from taskcenter.services.workflows import WorkflowStep, workflow_submit

router = Router(tags=["workflows"])


def _step(step: StepIn) -> WorkflowStep:
    return WorkflowStep(
        job=step.job, args=step.args, kwargs=step.kwargs, receives_previous=step.receives_previous
    )


@router.post(
    "",
    response={
        202: WorkflowOut,
        400: Error,
        401: Error,
        403: Error,
        404: Error,
        413: Error,
        422: FieldErrors,
        429: Error,
        503: Error,
    },
)
def submit_workflow(request: HttpRequest, payload: WorkflowIn) -> tuple[int, WorkflowOut]:
    """Send a chain, group or chord; nothing is sent unless every step is valid.

    In a chain a step with `receives_previous` gets the previous step's result as its
    first argument; a chord's callback with `receives_previous` gets the header's results.
    """
    trigger_limit_check(user_id=request.auth.pk)
    workflow, runs = workflow_submit(
        user=request.auth,
        kind=payload.kind,
        steps=[_step(s) for s in payload.steps],
        callback=_step(payload.callback) if payload.callback else None,
    )
    header = len(payload.steps)
    return 202, WorkflowOut(
        id=workflow.id,
        kind=workflow.kind,
        runs=[
            WorkflowRunOut(
                step=run.step,
                role="callback" if run.step >= header else "step",
                job=run.job,
                run_id=run.id,
                status_url=run_status_url(run.id),
            )
            for run in runs
        ],
    )
