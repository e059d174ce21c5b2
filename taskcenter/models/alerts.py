"""Alerts: who is told of what (rules), the open incidents (states), and what was sent.

One open state per cause and job holds the suppression window: the first occurrence is
sent, later ones in the window are only counted, a summary follows when the window ends,
and a "recovered" message when the condition heals.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import PeriodicTask


class Cause(models.TextChoices):
    FINAL_FAILURE = "final_failure", _("a run failed for the last time")
    TIME_LIMIT = "time_limit", _("a run exceeded its time limit")
    MISSED_RUN = "missed_run", _("a schedule missed a run")
    NO_WORKER = "no_worker", _("no worker heartbeat")
    NO_BEAT = "no_beat", _("no beat leader")
    NO_APSCHEDULER = "no_apscheduler", _("no run_apscheduler heartbeat")


class AlertRule(models.Model):
    """Who is told, of which causes, for one job or one schedule (or every one)."""

    job = models.CharField(
        max_length=200, blank=True, help_text=_("Catalog job name; empty for every job.")
    )
    periodic_task = models.ForeignKey(
        PeriodicTask,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_rules",
        help_text=_("A schedule, for its missed runs; empty for every schedule."),
    )
    causes = models.JSONField(
        default=list, blank=True, help_text=_("The causes alerted; empty for all.")
    )
    emails = models.TextField(
        blank=True, help_text=_("Recipients, comma separated; empty for the ADMINS setting.")
    )
    webhook = models.BooleanField(
        default=True, help_text=_("Also POST to the alert webhook, when one is configured.")
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")

    def __str__(self) -> str:
        target = self.job or (self.periodic_task.name if self.periodic_task else "")
        return target or str(_("every job"))


class AlertState(models.Model):
    """The open incident of one cause and subject (a job, a schedule or a process role)."""

    key = models.CharField(max_length=255, primary_key=True, help_text=_("cause:subject"))
    cause = models.CharField(max_length=32, choices=Cause.choices)
    subject = models.CharField(max_length=200)
    active = models.BooleanField(default=False)
    window_started_at = models.DateTimeField(null=True, blank=True)
    suppressed = models.PositiveIntegerField(
        default=0, help_text=_("Occurrences in the window not sent on their own.")
    )
    details = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("alert state")
        verbose_name_plural = _("alert states")

    def __str__(self) -> str:
        return self.key


class Alert(models.Model):
    """One message sent (or tried) on one channel."""

    class Kind(models.TextChoices):
        ALERT = "alert", _("alert")
        SUMMARY = "summary", _("still failing")
        RECOVERED = "recovered", _("recovered")

    class Channel(models.TextChoices):
        EMAIL = "email", _("email")
        WEBHOOK = "webhook", _("webhook")

    cause = models.CharField(max_length=32, choices=Cause.choices, db_index=True)
    subject = models.CharField(max_length=200, db_index=True, help_text=_("Job, schedule or role."))
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipients = models.TextField(blank=True)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    count = models.PositiveIntegerField(default=1, help_text=_("Occurrences it stands for."))
    delivered = models.BooleanField(default=False)
    error = models.TextField(blank=True, help_text=_("Why delivery failed (after retries)."))
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title
