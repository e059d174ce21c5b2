"""System checks for settings that would make the task center unsafe or broken."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def check_serializers(app_configs, **kwargs):
    """Refuse pickle: a broker message must never be able to run code on a worker."""
    errors = []
    accepted = set(settings.CELERY_ACCEPT_CONTENT) | set(settings.CELERY_RESULT_ACCEPT_CONTENT)
    if accepted - {"json", "application/json"}:
        errors.append(
            checks.Error(
                f"Celery accepts content other than JSON: {sorted(accepted)}",
                hint="Set CELERY_ACCEPT_CONTENT and CELERY_RESULT_ACCEPT_CONTENT to ['json'].",
                id="taskcenter.E001",
            )
        )
    return errors


@checks.register(checks.Tags.compatibility)
def check_visibility_timeout(app_configs, **kwargs):
    """Redis redelivers an unacked message after the visibility timeout: keep it long.

    An idempotent job is unacknowledged while it runs, so its time limit must end before
    the timeout, or a run still going is delivered to a second worker.
    """
    from taskcenter.catalog import Runtime, all_jobs

    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    timeout = options.get("visibility_timeout")
    if timeout is None:
        return []
    problems = []
    if timeout <= settings.CELERY_TASK_TIME_LIMIT:
        problems.append(
            checks.Warning(
                f"The broker visibility timeout ({timeout}s) is not above the task time "
                f"limit ({settings.CELERY_TASK_TIME_LIMIT}s): a long task will be delivered twice.",
                id="taskcenter.W001",
            )
        )
    for job in all_jobs(Runtime.CELERY):
        limit = getattr(job.task, "time_limit", None)
        if job.idempotent and limit and limit >= timeout:
            problems.append(
                checks.Error(
                    f"Idempotent job {job.name} may run {limit}s, not less than the broker "
                    f"visibility timeout ({timeout}s): a run still going would be delivered "
                    "to a second worker.",
                    hint="Lower its time_limit or raise CELERY_VISIBILITY_TIMEOUT.",
                    id="taskcenter.E002",
                )
            )
    return problems
