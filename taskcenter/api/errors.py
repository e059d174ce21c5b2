"""Error answers: every failure has its status code and a safe message, never a traceback."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

import kombu.exceptions
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from taskcenter.api.ratelimit import RateLimitedError
from taskcenter.catalog import JobArgumentsError, UnknownJobError
from taskcenter.services.aio_runs import AioUnavailableError
from taskcenter.services.runs import BrokerUnavailableError, IdempotencyConflictError

logger = logging.getLogger(__name__)

#: MySQL/MariaDB JSON columns refuse deeper documents; refuse them up front instead.
MAX_JSON_DEPTH = 20
#: Seconds a client should wait before retrying after a 503.
RETRY_AFTER_UNAVAILABLE = 5


class Error(Schema):
    detail: str


class FieldErrors(Schema):
    detail: str
    errors: dict[str, str]


def _depth(value: Any, limit: int) -> int:
    if limit < 0:
        return 1
    if isinstance(value, dict):
        return 1 + max((_depth(v, limit - 1) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v, limit - 1) for v in value), default=0)
    return 0


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


#: Answers any operation may give whatever it declares itself: a body the server refuses
#: before the operation runs, a path or method the router does not know, an unreachable
#: database. Listed in every operation's schema so the schema and the answers agree.
COMMON_RESPONSES: dict[int, str] = {
    400: "Error",
    401: "Error",
    404: "Error",
    405: "Error",
    411: "Error",
    413: "Error",
    415: "Error",
    422: "FieldErrors",
    500: "Error",
    503: "Error",
}


def schema_with_common_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """Add COMMON_RESPONSES to every operation of OpenAPI `schema` that lacks them."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Error", Error.model_json_schema())
    components.setdefault("FieldErrors", FieldErrors.model_json_schema())
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for status, name in COMMON_RESPONSES.items():
                responses.setdefault(
                    str(status),
                    {
                        "description": HTTPStatus(status).phrase,
                        "content": {
                            "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                        },
                    },
                )
    return schema


class StrictJSONParser(Parser):
    """JSON bodies the database can store: no NaN/Infinity, valid UTF-8, bounded nesting."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body.decode("utf-8"), parse_constant=_no_constant)
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # lone surrogates raise
        if _depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ValueError("too deeply nested")
        return data


def _answer(api: NinjaAPI, request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    return api.create_response(request, body, status=status)


def install(api: NinjaAPI) -> None:
    """Map each expected exception to its status code on `api`."""

    def handler(exc_type: type[Exception], status: int, message: str | None = None) -> None:
        def handle(request: HttpRequest, exc: Exception) -> HttpResponse:
            return _answer(api, request, status, {"detail": str(message or exc)})

        api.add_exception_handler(exc_type, handle)

    handler(
        AuthenticationError,
        401,
        gettext_lazy("authentication required: send a bearer token or log in to the admin"),
    )
    handler(UnknownJobError, 404, gettext_lazy("no such job in the catalog"))
    handler(ObjectDoesNotExist, 404, gettext_lazy("not found"))
    handler(Http404, 404, gettext_lazy("not found"))
    handler(PermissionDenied, 403, gettext_lazy("you do not have permission to do this"))
    handler(RequestDataTooBig, 413, gettext_lazy("request body too large (limit 1 MiB)"))

    def idempotency_conflict(request: HttpRequest, exc: IdempotencyConflictError) -> HttpResponse:
        body = {"detail": _("invalid request"), "errors": {"Idempotency-Key": str(exc)}}
        return _answer(api, request, 422, body)

    def job_arguments(request: HttpRequest, exc: JobArgumentsError) -> HttpResponse:
        return _answer(api, request, 422, {"detail": _("invalid arguments"), "errors": exc.errors})

    def django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        if hasattr(exc, "error_dict"):
            errors = {k: "; ".join(v) for k, v in exc.message_dict.items()}
        else:
            errors = {"__all__": "; ".join(exc.messages)}
        return _answer(api, request, 422, {"detail": _("invalid data"), "errors": errors})

    def ninja_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors: dict[str, str] = {}
        for err in exc.errors:
            loc = ".".join(str(p) for p in err.get("loc", ())) or "body"
            errors.setdefault(loc, str(err.get("msg", _("invalid"))))
        return _answer(api, request, 422, {"detail": _("invalid request"), "errors": errors})

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return _answer(api, request, exc.status_code, {"detail": str(exc)})

    def rate_limited(request: HttpRequest, exc: RateLimitedError) -> HttpResponse:
        response = _answer(api, request, 429, {"detail": _("too many triggers; slow down")})
        response["Retry-After"] = str(exc.retry_after)
        return response

    def unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.warning("service unavailable: %r", exc)
        broker = (BrokerUnavailableError, kombu.exceptions.OperationalError)
        if isinstance(exc, broker):
            detail = _("the task broker is unreachable; nothing was started, try again later")
        else:
            detail = _("the database is unreachable; nothing was started, try again later")
        response = _answer(api, request, 503, {"detail": detail})
        response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
        return response

    def aio_unavailable(request: HttpRequest, exc: AioUnavailableError) -> HttpResponse:
        response = _answer(api, request, 503, {"detail": str(exc)})
        response["Retry-After"] = str(exc.retry_after)
        return response

    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.error("unexpected error in %s %s", request.method, request.path, exc_info=exc)
        return _answer(api, request, 500, {"detail": _("internal error")})

    api.add_exception_handler(IdempotencyConflictError, idempotency_conflict)
    api.add_exception_handler(JobArgumentsError, job_arguments)
    api.add_exception_handler(DjangoValidationError, django_validation)
    api.add_exception_handler(NinjaValidationError, ninja_validation)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(RateLimitedError, rate_limited)
    api.add_exception_handler(BrokerUnavailableError, unavailable)
    api.add_exception_handler(AioUnavailableError, aio_unavailable)
    api.add_exception_handler(DatabaseError, unavailable)
    api.add_exception_handler(kombu.exceptions.OperationalError, unavailable)
    api.add_exception_handler(Exception, unexpected)
