"""Who changed what: one record per create, edit, pause, resume, delete or run-now of a schedule."""

import json

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import PeriodicTask


class ScheduleChange(models.Model):
    """One change to a PeriodicTask, kept after the schedule itself is deleted."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("edited")
        ENABLE = "enable", _("enabled")
        DISABLE = "disable", _("disabled")
        PAUSE = "pause", _("paused")
        RESUME = "resume", _("resumed")
        DELETE = "delete", _("deleted")
        RUN_NOW = "run_now", _("ran now")

    periodic_task = models.ForeignKey(
        PeriodicTask,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="changes",
        help_text=_("The schedule changed; empty once it has been deleted."),
    )
    schedule_name = models.CharField(
        max_length=200,
        db_index=True,
        help_text=_("The schedule's name when it changed (survives deletion and renames)."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text=_("Who changed it; empty when the system did (e.g. a pause ending by itself)."),
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    changes = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('Fields that changed, as {"field": [old, new]}; run-now keeps its arguments.'),
    )
    task_id = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text=_("Celery task id of a run-now, linking to its result."),
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "schedule change"
        verbose_name_plural = "schedule changes"
        # Running a schedule now is a power of its own: a user who may view (or even edit)
        # schedules must not necessarily be able to start work on demand.
        permissions = [("run_periodictask_now", "Can run a periodic task now")]

    def __str__(self) -> str:
        who = self.user.get_username() if self.user_id else "system"
        return f"{self.schedule_name} {self.get_action_display()} by {who}"

    def describe_changes(self) -> list[str]:
        """Return one line per changed field ("queue: default → reports") for people."""
        lines = []
        for field, value in self.changes.items():
            if self.action != self.Action.RUN_NOW and isinstance(value, list) and len(value) == 2:
                old, new = ("—" if v is None else v for v in value)
                lines.append(f"{field}: {old} → {new}")
            else:
                lines.append(f"{field}: {json.dumps(value)}")
        return lines
