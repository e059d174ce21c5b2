"""Settings for taskcenter, read from the environment (and an optional `.env`).

One set of settings for every environment: what differs between a laptop and production
is the environment, never the code. With no `DATABASE_URL` and no `REDIS_URL` the task
center runs on an embedded default (SQLite and kombu's filesystem transport under
`var/`), so a fresh clone starts without any service.

Split by what they configure, each part importing what it needs from `base`; no part is
per environment:
- `base`: Django itself, the API, the fast-path switches, the database;
- `celery_app`: the broker, results, delivery promises, queues;
- `runtimes`: the beat engine, the local scheduler (APScheduler), the AnyIO runtime;
- `operations`: monitoring, alerts, the jobs' own settings, mail, logging.
Every variable is listed in `.env.example`.
"""

from config.settings.base import *  # noqa: F403
from config.settings.celery_app import *  # noqa: F403
from config.settings.operations import *  # noqa: F403
from config.settings.runtimes import *  # noqa: F403
