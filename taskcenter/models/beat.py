"""Records of the beat engine: schedule change feed, run events, beat instances, DB lease."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import PeriodicTask


class ScheduleChangeFeed(models.Model):
    """One row changed in a schedule table, written by database triggers (not by Python).

    Triggers see every write, including `QuerySet.update()`, migrations and raw SQL,
    which django-celery-beat's `PeriodicTasks.last_update` misses. Beat reads this feed
    incrementally (`id > last seen`) and reloads only the rows it names.
    """

    class Source(models.TextChoices):
        TASK = "task", _("periodic task")
        INTERVAL = "interval", _("interval schedule")
        CRONTAB = "crontab", _("crontab schedule")
        SOLAR = "solar", _("solar schedule")
        CLOCKED = "clocked", _("clocked schedule")

    source = models.CharField(max_length=16, choices=Source.choices)
    row_id = models.BigIntegerField(help_text=_("Primary key of the changed row in its table."))
    changed_at = models.DateTimeField(help_text=_("When the row changed (database clock, UTC)."))
    applied_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the leading beat applied the change.")
    )

    class Meta:
        verbose_name = "schedule change feed entry"
        indexes = [models.Index(fields=["source", "row_id"], name="tc_schedchange_src_row")]

    def __str__(self) -> str:
        return f"{self.source} {self.row_id} changed at {self.changed_at}"


class ScheduleEvent(models.Model):
    """A slot beat did not dispatch as planned: missed (and how it was caught up) or skipped."""

    class Kind(models.TextChoices):
        MISSED = "missed", _("missed")
        SKIPPED_OVERLAP = "skipped_overlap", _("skipped: previous run still running")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("pending: retrying until the broker answers")
        RAN_ONCE = "ran_once", _("caught up with one run")
        SKIPPED = "skipped", _("skipped: past the catch-up deadline")

    periodic_task = models.ForeignKey(
        PeriodicTask, on_delete=models.CASCADE, related_name="beat_events"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    slot = models.DateTimeField(help_text=_("Due time of the (first) slot concerned."))
    slots = models.PositiveIntegerField(default=1, help_text=_("How many slots it covers."))
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "schedule event"
        ordering = ["-slot"]
        indexes = [models.Index(fields=["periodic_task", "-slot"], name="tc_schedevent_task_slot")]

    def __str__(self) -> str:
        return f"{self.kind} {self.periodic_task_id} at {self.slot}"


class BeatInstance(models.Model):
    """One running beat process and its role, for the dashboard (heartbeat every tick)."""

    ident = models.CharField(max_length=128, primary_key=True, help_text=_("hostname:pid:token"))
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    is_leader = models.BooleanField(default=False)
    leader_since = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    last_tick_at = models.DateTimeField()

    class Meta:
        verbose_name = "beat instance"

    def __str__(self) -> str:
        return f"{self.ident} ({'leader' if self.is_leader else 'standby'})"


class BeatLease(models.Model):
    """The leader lease kept in the database when there is no Redis (embedded default)."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=128)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "beat lease"

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at}"
