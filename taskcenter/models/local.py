"""Local (APScheduler) jobs: each run recorded, and the operator's pause and trigger override.

`run_apscheduler` keeps no history of its own and its job store lives in memory; these
rows are what the admin and the operations page read, and what survives a restart.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LocalJobRun(models.Model):
    """One run (or one run not made) of a `@local_job` by `run_apscheduler`."""

    class Outcome(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCESS = "success", _("success")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped (max instances reached)")
        MISSED = "missed", _("missed (past its misfire grace time)")

    job = models.CharField(max_length=200, db_index=True, help_text=_("Catalog job name."))
    scheduled_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the trigger wanted it to run; empty for run-now.")
    )
    started_at = models.DateTimeField(null=True, blank=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text=_("Seconds it ran."))
    outcome = models.CharField(max_length=16, choices=Outcome.choices, db_index=True)
    error = models.TextField(blank=True, help_text=_("The exception, scrubbed of secrets."))
    traceback = models.TextField(blank=True, help_text=_("Scrubbed of secrets."))
    process = models.CharField(
        max_length=128, blank=True, help_text=_("hostname:pid of the process that ran it.")
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("local job run")
        verbose_name_plural = _("local job runs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["job", "created_at"], name="localrun_job_created")]

    def __str__(self) -> str:
        return f"{self.job} {self.get_outcome_display()}"


class LocalJobState(models.Model):
    """What an operator set for one local job: paused, or another trigger than the code's."""

    job = models.CharField(max_length=200, primary_key=True, help_text=_("Catalog job name."))
    paused = models.BooleanField(default=False)
    trigger_override = models.JSONField(
        null=True,
        blank=True,
        help_text=_('Another trigger than the code\'s, e.g. {"cron": "*/5 * * * *"}.'),
    )
    run_now_requested_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("local job")
        verbose_name_plural = _("local jobs")
        permissions = [
            ("pause_localjob", _("Can pause and resume a local job")),
            ("run_localjob_now", _("Can run a local job now")),
            ("override_localjob_trigger", _("Can override a local job's trigger")),
        ]

    def __str__(self) -> str:
        return self.job
