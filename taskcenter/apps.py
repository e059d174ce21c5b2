"""App config for the task center."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TaskcenterConfig(AppConfig):
    name = "taskcenter"
    verbose_name = _("Task center")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # Imported for what they connect: system checks; the enqueue-time stamp and the
        # PENDING rows of scheduled runs (results); the worker-side run records and dead
        # letters (dispatch.worker_hooks); the worker's heartbeat and log format; the
        # warning about a Redis broker that keeps nothing on disk.
        from taskcenter import checks  # noqa: F401
        from taskcenter.beat.triggers import triggers_sync
        from taskcenter.dispatch import (  # noqa: F401
            broker_persistence,
            worker_heartbeat,
            worker_hooks,
            worker_logging,
        )
        from taskcenter.results import backend, pending_rows  # noqa: F401
        from taskcenter.services.permissions import job_permissions_sync

        post_migrate.connect(job_permissions_sync, sender=self, weak=False)
        # The change feed watches the columns the models have now (a django-celery-beat
        # upgrade may add some); current triggers are left alone.
        post_migrate.connect(triggers_sync, sender=self, weak=False)
