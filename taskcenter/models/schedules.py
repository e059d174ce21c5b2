"""Per-schedule settings that django-celery-beat's PeriodicTask has no field for."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import PeriodicTask


class ScheduleSettings(models.Model):
    """Extends one PeriodicTask (one-to-one) without forking django-celery-beat."""

    class Overlap(models.TextChoices):
        ALLOW = "allow", _("Allow: start a run even if the previous one is still running")
        SKIP = "skip", _("Skip: do not start while the previous run is still running")

    class CatchUp(models.TextChoices):
        RUN_ONCE = "run_once", _("Run once for all missed slots")
        SKIP = "skip", _("Skip missed slots older than the deadline")

    periodic_task = models.OneToOneField(
        PeriodicTask,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="settings",
        verbose_name=_("periodic task"),
    )
    paused_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("While set and in the future, the schedule is paused; it resumes by itself."),
    )
    overlap = models.CharField(
        max_length=16,
        choices=Overlap.choices,
        default=Overlap.ALLOW,
        help_text=_("What beat does when a slot is due while the previous run is still running."),
    )
    catch_up = models.CharField(
        max_length=16,
        choices=CatchUp.choices,
        default=CatchUp.RUN_ONCE,
        help_text=_("What beat does with slots missed while the broker or beat was down."),
    )
    catch_up_deadline = models.PositiveIntegerField(
        default=3600,
        help_text=_("Seconds after its due time that a missed slot may still run (policy 'skip')."),
    )

    class Meta:
        verbose_name = "schedule settings"
        verbose_name_plural = "schedule settings"

    def __str__(self) -> str:
        return f"settings of {self.periodic_task.name}"
