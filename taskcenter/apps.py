"""App config for the task center."""

from django.apps import AppConfig


class TaskcenterConfig(AppConfig):
    name = "taskcenter"
    verbose_name = "Task center"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # checks registers system checks; results_backend stamps enqueue time on messages.
        from taskcenter import checks, results_backend  # noqa: F401
