"""The task center's own models; each module holds one concern."""

from taskcenter.models.audit import ScheduleChange
from taskcenter.models.schedules import ScheduleSettings

__all__ = ["ScheduleChange", "ScheduleSettings"]
