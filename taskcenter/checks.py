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
    """Redis redelivers an unacked message after the visibility timeout: keep it long."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    timeout = options.get("visibility_timeout")
    if timeout is not None and timeout <= settings.CELERY_TASK_TIME_LIMIT:
        return [
            checks.Warning(
                f"The broker visibility timeout ({timeout}s) is not above the task time "
                f"limit ({settings.CELERY_TASK_TIME_LIMIT}s): a long task will be delivered twice.",
                id="taskcenter.W001",
            )
        ]
    return []
