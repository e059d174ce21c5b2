"""Schedule housekeeping (local job): resume schedules whose pause-until time has passed."""

from taskcenter.catalog import local_job
from taskcenter.services.schedules import schedules_resume_due


# Every 15 s: a pause ends at most 15 s late, for one small query per tick (a join of
# ScheduleSettings and PeriodicTask on paused_until).
@local_job("jobs.schedules.resume_paused", trigger="interval", seconds=15, jitter=0)
def resume_paused() -> list[str]:
    """Re-enable paused schedules whose `paused_until` is past (audited as the system)."""
    return schedules_resume_due()
