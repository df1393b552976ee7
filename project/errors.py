"""One error body for every API response that is not a success: {"code", "detail", "extra"}.

Both layers use it: the Ninja API registers `register_exception_handlers(api)` and DRF names
`drf_exception_handler` in settings, so an n8n workflow handles errors the same way whichever
path it calls.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import Field

from project.json_body import body_error
from raffles.errors import RaffleError

logger = logging.getLogger(__name__)

# The code used for each HTTP status when the exception carries no code of its own.
CODE_FOR_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "throttled",
    500: "server_error",
}


class ErrorOut(Schema):
    """Every error the API returns has this shape."""

    code: str = Field(description="Stable machine-readable code, e.g. `tickets_taken`.")
    detail: str = Field(description="Human-readable explanation.")
    extra: dict[str, Any] = Field(
        description=(
            "Data for the caller, e.g. `numbers` for `tickets_taken`, `limit` and `max_qty` for "
            "`order_total_too_large`; may be empty."
        )
    )


def error_body(code: str, detail: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "detail": detail, "extra": _jsonable(extra or {})}


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The `response=` entries documenting error statuses of an operation."""
    return dict.fromkeys(statuses, ErrorOut)


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    # Error data may hold exceptions, Decimals or lazy strings: never fail while reporting one.
    return json.loads(json.dumps(value, default=str))


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's error list, reduced to what a caller can act on."""
    cleaned = []
    for err in errors:
        item = {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
        cleaned.append(item)
    return cleaned


def is_bad_input(exc: Exception) -> bool:
    """Failures that only bad input can cause: the database refusing a value we passed through."""
    if isinstance(exc, DataError | OverflowError):
        return True
    # PostgreSQL refuses NUL characters in text; only a caller can send one.
    return isinstance(exc, ValueError) and "NUL (0x00)" in str(exc)


def status_and_body(exc: Exception) -> tuple[int, dict[str, Any]]:
    """Map any exception raised while serving an API call to (status, error body)."""
    if isinstance(exc, RaffleError):
        # Mostly 409: the request was well formed (the schema checked it) but the raffle's rules
        # or state refuse it. Lookups that find nothing raise Http404 before any service runs.
        return exc.http_status, error_body(exc.code, str(exc), exc.extra())
    if isinstance(exc, NinjaValidationError):
        errors = validation_errors(exc.errors)
        return 422, error_body("validation_error", "The request is not valid.", {"errors": errors})
    if isinstance(exc, Http404):
        return 404, error_body("not_found", "Not found.")
    if isinstance(exc, AuthenticationError):
        detail = exc.message if exc.message != "Unauthorized" else "Authentication required."
        return 401, error_body("not_authenticated", detail)
    if isinstance(exc, AuthorizationError):
        detail = exc.message if exc.message != "Forbidden" else "Permission denied."
        code = getattr(exc, "code", "permission_denied")
        return 403, error_body(code, detail, getattr(exc, "extra", None))
    if isinstance(exc, PermissionDenied):
        return 403, error_body("permission_denied", str(exc) or "Permission denied.")
    if isinstance(exc, ApiError):
        return exc.status_code, error_body(exc.code, exc.message, exc.extra)
    if isinstance(exc, HttpError) and exc.status_code == 400:
        # Ninja's only 400 is a body it cannot parse (not JSON, or not an object): bad input
        # like any other, so 422.
        detail, item = body_error(exc.__cause__ or exc)
        return 422, error_body("validation_error", detail, {"errors": [item]})
    if isinstance(exc, HttpError):
        code = CODE_FOR_STATUS.get(exc.status_code, "error")
        return exc.status_code, error_body(code, str(exc))
    if isinstance(exc, DjangoValidationError):
        extra = {"errors": exc.message_dict if hasattr(exc, "error_dict") else exc.messages}
        return 422, error_body("validation_error", "The request is not valid.", extra)
    if is_bad_input(exc):
        return 422, error_body("invalid_value", "A value in the request is out of range.")
    logger.exception("Unhandled error in the API", exc_info=exc)
    return 500, error_body("server_error", "Internal server error.")


class ApiError(HttpError):
    """An error an API operation raises itself, with its own code."""

    def __init__(
        self, status_code: int, code: str, message: str, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(status_code, message)
        self.code = code
        self.extra = extra or {}


def json_error(status: int, body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


# --- Ninja -------------------------------------------------------------------------------------


def register_exception_handlers(api: NinjaAPI) -> None:
    """Replace Ninja's default handlers: every failure answers with the error body."""

    def handle(request: HttpRequest, exc: Exception) -> HttpResponse:
        status, body = status_and_body(exc)
        response = api.create_response(request, body, status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    for exc_class in (Exception, Http404, HttpError, NinjaValidationError):
        api.add_exception_handler(exc_class, handle)


# --- DRF ---------------------------------------------------------------------------------------


def drf_exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """DRF's EXCEPTION_HANDLER: the same body as the Ninja API for the same failure."""
    from rest_framework import exceptions
    from rest_framework.response import Response

    if isinstance(exc, exceptions.APIException):
        status = exc.status_code
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, exceptions.ValidationError):
            status = 422
            request = context.get("request")
            where = "query" if getattr(request, "method", "GET") == "GET" else "body"
            body = error_body(
                "validation_error", "The request is not valid.", _drf_errors(exc, where)
            )
        elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            body = error_body("not_authenticated", str(exc.detail))
        else:
            code = CODE_FOR_STATUS.get(status) or str(exc.default_code)
            body = error_body(code, str(exc.detail))
        return Response(body, status=status, headers=headers)
    status, body = status_and_body(exc)
    return Response(body, status=status)


def _drf_errors(exc: Any, where: str) -> dict[str, Any]:
    detail = exc.detail
    # `type` as the Ninja API gives it: DRF's own error code (e.g. `invalid`, `required`).
    if isinstance(detail, dict):
        return {
            "errors": [
                {
                    "loc": [where, k],
                    "msg": str(v[0] if v else ""),
                    "type": str(getattr(v[0], "code", "invalid") if v else "invalid"),
                }
                for k, v in detail.items()
            ]
        }
    return {
        "errors": [
            {"loc": [where], "msg": str(m), "type": str(getattr(m, "code", "invalid"))}
            for m in detail
        ]
    }
