"""Deliver recorded alerts: Django mail, and a signed JSON webhook with retries and backoff.

`alerts_deliver_later` hands the ids to a daemon thread, so the caller (a worker running
a job's failure handler, or a web request) never waits for a mail server or a webhook.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection

from taskcenter.models import Alert

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Taskcenter-Signature"


def signature(body: bytes, secret: str) -> str:
    """Return the webhook signature header value of `body`: sha256=<hex HMAC>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _payload(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "cause": alert.cause,
        "subject": alert.subject,
        "title": alert.title,
        "body": alert.body,
        "count": alert.count,
        "created_at": alert.created_at.isoformat(),
    }


def _post(alert: Alert) -> None:
    body = json.dumps(_payload(alert), sort_keys=True).encode()
    request = urllib.request.Request(
        settings.TASKCENTER_ALERT_WEBHOOK_URL,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(body, settings.TASKCENTER_ALERT_WEBHOOK_SECRET),
        },
    )
    timeout = float(settings.TASKCENTER_ALERT_WEBHOOK_TIMEOUT)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        if response.status >= 300:
            raise urllib.error.HTTPError(
                request.full_url, response.status, "not 2xx", response.headers, None
            )


def _send_once(alert: Alert) -> None:
    if alert.channel == Alert.Channel.EMAIL:
        recipients = [r.strip() for r in alert.recipients.split(",") if r.strip()]
        send_mail(alert.title, alert.body, None, recipients, fail_silently=False)
    else:
        _post(alert)


def alert_deliver(*, alert_id: int) -> bool:
    """Send one recorded alert, retrying with backoff; store the outcome on its row."""
    alert = Alert.objects.get(pk=alert_id)
    retries = max(0, int(settings.TASKCENTER_ALERT_WEBHOOK_RETRIES))
    error = ""
    for attempt in range(retries + 1):
        try:
            _send_once(alert)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            logger.warning("alert %s via %s failed: %s", alert.pk, alert.channel, error)
            if attempt < retries:
                # 0.5 s, 1 s, 2 s ...: a flapping endpoint gets a few seconds to come back.
                time.sleep(0.5 * 2**attempt)
            continue
        Alert.objects.filter(pk=alert.pk).update(delivered=True, error="", attempts=attempt + 1)
        return True
    Alert.objects.filter(pk=alert.pk).update(delivered=False, error=error, attempts=retries + 1)
    return False


def _deliver_all(ids: Sequence[int]) -> None:
    try:
        for alert_id in ids:
            try:
                alert_deliver(alert_id=alert_id)
            except Exception:
                logger.exception("could not deliver alert %s", alert_id)
    finally:
        connection.close()


def alerts_deliver_later(ids: Sequence[int]) -> threading.Thread | None:
    """Deliver the alerts `ids` on a daemon thread; return it (None when there is nothing)."""
    if not ids:
        return None
    thread = threading.Thread(target=_deliver_all, args=(list(ids),), name="tc-alerts", daemon=True)
    thread.start()
    return thread
