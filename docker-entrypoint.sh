#!/bin/sh
# Select the process this container runs; the same image serves all of them.
set -e
case "$1" in
  web)
    python manage.py migrate --noinput
    python manage.py ensure_admin
    exec python -m config.web --host 0.0.0.0 --port "${PORT:-8000}" ;;
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
