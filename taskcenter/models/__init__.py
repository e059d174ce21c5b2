"""The task center's own models; each module holds one concern."""

from taskcenter.models.alerts import Alert, AlertRule, AlertState, Cause
from taskcenter.models.api import ApiToken, DeadLetter, Run, Workflow
from taskcenter.models.audit import ScheduleChange
from taskcenter.models.beat import BeatInstance, BeatLease, ScheduleChangeFeed, ScheduleEvent
from taskcenter.models.heartbeats import ProcessHeartbeat
from taskcenter.models.local import LocalJobRun, LocalJobState
from taskcenter.models.monitoring import QuarterDayRollup, QueueSample, RunRollup
from taskcenter.models.schedules import ScheduleSettings

__all__ = [
    "Alert",
    "AlertRule",
    "AlertState",
    "Cause",
    "ApiToken",
    "BeatInstance",
    "BeatLease",
    "DeadLetter",
    "LocalJobRun",
    "LocalJobState",
    "ProcessHeartbeat",
    "QuarterDayRollup",
    "QueueSample",
    "Run",
    "RunRollup",
    "ScheduleChange",
    "ScheduleChangeFeed",
    "ScheduleEvent",
    "ScheduleSettings",
    "Workflow",
]
