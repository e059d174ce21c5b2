"""`/api/jobs`: the catalog, and triggering one job."""

from django.http import HttpRequest
from django.urls import reverse
from ninja import Header, Path, Router

from taskcenter.api.errors import Error, FieldErrors
from taskcenter.api.ratelimit import trigger_limit_check
from taskcenter.api.runs import run_status_url
from taskcenter.api.schemas import JobOut, RetryOut, RunAccepted, TriggerIn
from taskcenter.catalog import Job, Runtime, all_jobs
from taskcenter.services.runs import API_RUNTIMES, job_can_trigger, run_trigger

router = Router(tags=["jobs"])


def _job_out(request: HttpRequest, job: Job) -> JobOut:
    triggerable = job.runtime in API_RUNTIMES
    retry = None
    if job.retry is not None:
        retry = RetryOut(
            on=[exc.__name__ for exc in job.retry.on],
            max_retries=job.retry.max_retries,
            backoff=job.retry.backoff,
            backoff_max=job.retry.backoff_max,
            jitter=job.retry.jitter,
        )
    return JobOut(
        name=job.name,
        runtime=str(job.runtime),
        queue=job.queue,
        description=job.description,
        retry=retry,
        idempotent=job.idempotent if job.runtime == Runtime.CELERY else None,
        delivery=str(job.delivery) if job.delivery else None,
        parameters=job.parameters_schema(),
        can_trigger=triggerable and job_can_trigger(user=request.auth, job=job),
        trigger_url=reverse("api:trigger_job", args=[job.name]) if triggerable else None,
    )


@router.get("", response={200: list[JobOut], 401: Error})
def list_jobs(request: HttpRequest) -> list[JobOut]:
    """Every catalog job, with its parameters' JSON schema and whether you may trigger it."""
    return [_job_out(request, job) for job in all_jobs()]


@router.post(
    "/{name}/runs",
    response={
        202: RunAccepted,
        400: Error,
        401: Error,
        403: Error,
        404: Error,
        413: Error,
        422: FieldErrors,
        429: Error,
        503: Error,
    },
    url_name="trigger_job",
)
def trigger_job(
    request: HttpRequest,
    name: str = Path(..., examples=["jobs.demo.add"]),
    payload: TriggerIn = ...,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255),
) -> tuple[int, RunAccepted]:
    """Start one run of a catalog job; answer 202 with its id and status URL.

    A Celery job is enqueued for a worker; an AnyIO job (`@aio_job`) starts at once in
    the web process that received the request, or, when that process's manager is full,
    is refused with 503 and Retry-After.
    With an `Idempotency-Key` header, a repeated request returns the run the first one
    started instead of starting another.
    """
    trigger_limit_check(user_id=request.auth.pk)
    run, created = run_trigger(
        user=request.auth,
        job_name=name,
        args=payload.args,
        kwargs=payload.kwargs,
        options=payload.options(),
        idempotency_key=idempotency_key,
    )
    return 202, RunAccepted(
        id=run.id,
        job=run.job,
        status_url=run_status_url(run.id),
        replayed=not created,
    )
