"""Result storage: the only code that writes django-celery-results' `TaskResult` rows.

- `rows`: the columns of a row and the statements that write them;
- `backend`: the Celery result backend (one upsert per state on MySQL; the stock
  `django-db` backend with `TASKCENTER_FAST_RESULTS=false`), both storing a result again
  on a new connection when the database went away;
- `started_rows`: STARTED stored only for runs still going after a short delay (a fast
  path, `TASKCENTER_RESULT_STARTED_DELAY=0` turns it off);
- `pending_rows`: PENDING rows for scheduled runs, written when they are published;
- `retention`: deleting old rows in batches.

Re-check `backend` and `rows` on every django-celery-results upgrade.
"""
