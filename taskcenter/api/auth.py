"""Who may call the API: a bearer token, or an admin user's session (with CSRF)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from taskcenter.services.tokens import token_authenticate

#: Methods that change nothing; every other method needs a CSRF token with a session.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class BearerTokenAuth(HttpBearer):
    """`Authorization: Bearer tc_...`: a live API token acts as its (active) user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = token_authenticate(secret=token)
        return found.user if found is not None else None


class StaffSessionAuth(APIKeyCookie):
    """Django's session login, for admin (staff) users; mutating calls need CSRF.

    Unlike ninja's SessionAuth, a request without a logged-in session is simply not
    authenticated here (401), and the CSRF check only runs for a real session user.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not (user.is_authenticated and user.is_active and user.is_staff):
            return None
        if request.method not in SAFE_METHODS and _csrf_fails(request):
            raise HttpError(
                403, _("CSRF check failed: send the csrftoken cookie's value as X-CSRFToken")
            )
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        return None


def _csrf_fails(request: HttpRequest) -> bool:
    """Run Django's CSRF check; a body it can not parse is the client's error (400).

    Django's check reads `request.POST` for a form token, which parses a form body: a
    multipart body without a boundary raises there instead of failing the check.
    """
    try:
        return check_csrf(request) is not None
    except (MultiPartParserError, UnreadablePostError, UnicodeDecodeError, ValueError):
        raise HttpError(400, _("the request body can not be parsed; send JSON")) from None
