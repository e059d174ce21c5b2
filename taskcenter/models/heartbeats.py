"""Durable heartbeats of the long-running processes: workers, beat, run_apscheduler.

A broadcast ping answers only for the processes alive right now; a row written on a
timer lets the operations page, `/readyz` and the alerts tell "down since when".
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProcessHeartbeat(models.Model):
    """The last sign of life of one process of the task center."""

    class Role(models.TextChoices):
        WORKER = "worker", _("Celery worker")
        BEAT = "beat", _("Celery beat")
        APSCHEDULER = "apscheduler", _("run_apscheduler")
        WEB = "web", _("web")

    ident = models.CharField(
        max_length=190, primary_key=True, help_text=_("role:hostname:pid (or the worker's name).")
    )
    role = models.CharField(max_length=16, choices=Role.choices, db_index=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    is_leader = models.BooleanField(
        default=False, help_text=_("Holds the lease (beat, run_apscheduler).")
    )
    details = models.JSONField(
        default=dict, blank=True, help_text=_("Queues, concurrency, jobs running, ...")
    )
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("process heartbeat")
        verbose_name_plural = _("process heartbeats")
        ordering = ["role", "ident"]

    def __str__(self) -> str:
        return self.ident
