"""Alerts: operators told, by email and webhook, when work fails, overruns, is missed, or a
process of the task center falls silent.

`services` decides (rules, suppression windows, summaries, recovery) and records every
message as an `Alert` row; `channels` delivers them off the caller's thread, so a worker
never waits for a mail server or a webhook; `checks` looks at the durable records (beat's
missed runs, process heartbeats) on the `jobs.maintenance.check_alerts` timer.
"""
