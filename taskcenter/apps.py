"""App config for the task center."""

from django.apps import AppConfig


class TaskcenterConfig(AppConfig):
    name = "taskcenter"
    verbose_name = "Task center"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from taskcenter import checks  # noqa: F401  (registers system checks)
        from taskcenter import results_backend  # noqa: F401  (stamps enqueue time on messages)
