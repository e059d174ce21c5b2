"""What the operations page reads besides the live records: queue samples, run rollups.

The broker only knows how many messages wait now; a sample a minute, written by the
workers' heartbeat timer, is what lets the page draw the last hours and days. Hourly
and six-hour rollups of finished runs keep the page's cost independent of the results
table's size.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class QueueSample(models.Model):
    """How many messages waited in one queue at one minute."""

    queue = models.CharField(max_length=200)
    minute = models.DateTimeField(help_text=_("The minute sampled (UTC, seconds zeroed)."))
    waiting = models.PositiveIntegerField()
    oldest_age = models.FloatField(
        null=True, blank=True, help_text=_("Age in seconds of the oldest waiting message.")
    )

    class Meta:
        verbose_name = _("queue sample")
        verbose_name_plural = _("queue samples")
        constraints = [
            # Every worker samples; the first write of a minute wins, the others are no-ops.
            models.UniqueConstraint(fields=["minute", "queue"], name="tc_queuesample_minute_queue")
        ]

    def __str__(self) -> str:
        return f"{self.queue} {self.minute:%Y-%m-%d %H:%M}: {self.waiting}"


class RunRollup(models.Model):
    """Runs of one job in one past hour whose duration (or queue wait) fell in one bin.

    The operations page reads finished hours from here and only the current hour from
    the results table, so a 7-day window costs the same on 1,000 rows as on 10,000,000.
    Bins are logarithmic (each 20 % wider than the last), which bounds a percentile's
    error to one bin's width.
    """

    class Source(models.TextChoices):
        RESULTS = "results", _("results table (Celery and AnyIO)")
        LOCAL = "local", _("local job runs")

    class Metric(models.TextChoices):
        DURATION = "d", _("duration")
        WAIT = "w", _("queue wait")

    source = models.CharField(max_length=8, choices=Source.choices)
    job = models.CharField(max_length=200)
    hour = models.DateTimeField()
    metric = models.CharField(max_length=1, choices=Metric.choices)
    bin = models.SmallIntegerField(help_text=_("floor(log1.2(seconds)); -1000 when unknown."))
    runs = models.PositiveIntegerField()
    failures = models.PositiveIntegerField()
    last_failure_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("run rollup")
        verbose_name_plural = _("run rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "hour", "metric", "job", "bin"], name="tc_runrollup_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.hour:%Y-%m-%d %H}h {self.metric}{self.bin}: {self.runs}"


class QuarterDayRollup(models.Model):
    """Runs of one job in one past six-hour period (from 00, 06, 12 or 18 h UTC) whose
    duration (or queue wait) fell in one bin: the sum of that period's `RunRollup` rows.

    The 7-day window charts six-hour buckets; reading its finished periods from here
    instead of the hours reads about a sixth of the rows, with nothing left to group.
    """

    source = models.CharField(max_length=8, choices=RunRollup.Source.choices)
    job = models.CharField(max_length=200)
    start = models.DateTimeField()
    metric = models.CharField(max_length=1, choices=RunRollup.Metric.choices)
    bin = models.SmallIntegerField(help_text=_("floor(log1.2(seconds)); -1000 when unknown."))
    runs = models.PositiveIntegerField()
    failures = models.PositiveIntegerField()
    last_failure_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("six-hour run rollup")
        verbose_name_plural = _("six-hour run rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "start", "metric", "job", "bin"], name="tc_quarterdayrollup_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.start:%Y-%m-%d %H}h+6h {self.metric}{self.bin}: {self.runs}"
