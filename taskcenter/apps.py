"""App config for the task center."""

from django.apps import AppConfig


class TaskcenterConfig(AppConfig):
    name = "taskcenter"
    verbose_name = "Task center"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # checks registers system checks; results_backend stamps enqueue time on messages,
        # pending_rows records scheduled runs as PENDING when they are published;
        # admin_api registers the admin of API tokens, runs and dead letters.
        from taskcenter import (  # noqa: F401
            admin_api,
            checks,
            dispatch,
            pending_rows,
            results_backend,
            run_hooks,
        )
        from taskcenter.services.permissions import job_permissions_sync

        dispatch.register_task_hooks(
            on_prerun=run_hooks.on_prerun,
            on_retry=run_hooks.on_retry,
            on_failure=run_hooks.on_failure,
        )
        post_migrate.connect(job_permissions_sync, sender=self, weak=False)
