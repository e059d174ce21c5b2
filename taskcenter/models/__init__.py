"""The task center's own models; each module holds one concern."""

from taskcenter.models.beat import BeatInstance, BeatLease, ScheduleChange, ScheduleEvent
from taskcenter.models.schedules import ScheduleSettings

__all__ = ["BeatInstance", "BeatLease", "ScheduleChange", "ScheduleEvent", "ScheduleSettings"]
