#!/bin/sh
# Select the process this container runs; the same image serves all of them.
set -e
case "$1" in
  web)
    python manage.py migrate --noinput
    python manage.py ensure_admin
    exec gunicorn -c config/gunicorn.py --bind "0.0.0.0:${PORT:-8000}" ;;
  worker)
    shift; exec celery -A config worker -l "${LOG_LEVEL:-INFO}" "$@" ;;
  beat)
    shift; exec celery -A config beat -l "${LOG_LEVEL:-INFO}" --pidfile= "$@" ;;
  apscheduler)
    exec python manage.py run_apscheduler ;;
  manage)
    shift; exec python manage.py "$@" ;;
  *)
    exec "$@" ;;
esac
