"""Samples of queue depth over time, for the operations page's queue chart.

The broker only knows how many messages wait now; a sample a minute, written by the
workers' heartbeat timer, is what lets the page draw the last hours and days.
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
