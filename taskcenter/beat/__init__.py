"""The beat engine: `celery -A config beat` runs `scheduler.TaskcenterScheduler`.

How it behaves, for operators:

- **One leader.** Every beat process competes for a lease (Redis key
  `TASKCENTER_BEAT_LEASE_KEY`, or the `BeatLease` row without Redis) with a TTL of
  `TASKCENTER_BEAT_LEASE_TTL` seconds (15). Only the holder dispatches; it renews every
  second and checks the lease before every message. A standby takes over when the lease
  expires (at most the TTL after the leader died) or at once when the leader stops
  cleanly. Each process logs "leading" or "standing by"; `status.beat_leader_status()`
  reports the leader and its last tick.
- **Changes in under 2 s.** Database triggers write every change to a schedule (task
  row, its ScheduleSettings, interval/crontab/solar/clocked rows) into
  `ScheduleChangeFeed`, whatever made it: admin, API, `QuerySet.update()`, a migration or raw
  SQL. The leader reads the feed every `TASKCENTER_BEAT_POLL_INTERVAL` (0.5 s), reloads
  only the named rows and stamps them applied (`status.change_applied_at()`).
- **Every column is watched.** The triggers compare every column of those models except
  beat's bookkeeping (`last_run_at`, `total_run_count`, `no_changes`, `date_changed`).
  Every `migrate` reinstalls them from the current models (`triggers.triggers_sync`,
  on post_migrate), so a column a django-celery-beat upgrade adds is watched, and
  triggers SQLite dropped while rebuilding an altered table come back. Triggers already
  current are left alone; a replacement is created before the old one is dropped. Until
  that `migrate` has run, a change to a new column alone is not seen; on SQLite, writes
  made while a migration rebuilds a watched table are not in the feed either, so
  restart beat after such a migration.
- **Slots, not clocks.** `last_run_at` holds the due time of the last slot handled, and
  is written before the message is published (at most once: a crash between the write
  and the publish loses that one slot rather than doubling it). A restart or a new
  leader continues from the stored slot.
- **Batches.** Slots falling due within 0.1 s of each other (`scheduler.BATCH_WINDOW`)
  are dispatched together: one UPDATE claims them, one Redis pipeline publishes them
  (kombu's `Producer.batch()`; other brokers publish one by one) and one INSERT records
  their PENDING rows. A pipeline that fails un-claims the whole batch, as below.
- **Missed slots and the catch-up policy** (ScheduleSettings, defaults when a schedule
  has none). A slot sent within `TASKCENTER_BEAT_MISSED_GRACE` (10 s) of its due time is
  on time, and each such slot is sent. Slots older than that were missed (beat or the
  broker was down) and are recorded as one `ScheduleEvent` (kind `missed`, first slot,
  number of slots):
  - `catch_up=run_once` (default): one run is sent for all of them (outcome `ran_once`);
  - `catch_up=skip`: one run is sent if the latest missed slot is at most
    `catch_up_deadline` seconds old, otherwise none (outcome `skipped`).
  A publish that fails (broker down) is recorded at once as `missed`/`pending`, the slot
  is un-claimed and retried with backoff (1 s doubling to 15 s); the record's outcome is
  set when the retry finally runs or is skipped under the policy above.
- **Overlap.** `overlap=skip` skips a slot while the schedule's previous run is queued
  or running (its result is not final and it is younger than the task time limit); the
  skip is recorded as a `ScheduleEvent` of kind `skipped_overlap`.
- **Daylight saving.** Crontabs are evaluated in their own time zone; a slot in the
  spring gap runs once at the first valid time after it, a wall-clock time repeated in
  autumn runs once.
"""
