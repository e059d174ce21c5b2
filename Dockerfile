# One image for every process of the task center. The command selects which one runs:
#   docker run IMAGE web | worker | beat | apscheduler | manage <command...>
# Build stage: compile mysqlclient against libmariadb; runtime stage: only the shared library.

FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config libmariadb-dev \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir --upgrade pip \
 && /venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmariadb3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 taskcenter
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=taskcenter:taskcenter . /app
ENV PATH="/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    TASKCENTER_VAR_DIR=/app/var
RUN mkdir -p /app/var && chown taskcenter:taskcenter /app/var \
 && SECRET_KEY=build-only-collectstatic python manage.py collectstatic --noinput -v 0 \
 && chown -R taskcenter:taskcenter /app/var
USER taskcenter
EXPOSE 8000
ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["web"]
