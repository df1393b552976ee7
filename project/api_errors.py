"""Unknown paths and methods under /api/ answer the API's error body, never Django's HTML page.

Django answers a path no URL matches with its HTML 404 page, and Ninja a method an operation
does not have with a plain-text 405, before any API code runs. A client generated from the spec
parses every error as `ErrorOut`, so both are rewritten here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from project.errors import error_body, json_error

PREFIX = "/api/"
DETAILS = {
    404: "No API operation at this path. Paths have no trailing slash under /api/v1/.",
    405: "This path does not accept this method.",
}
CODES = {404: "not_found", 405: "method_not_allowed"}


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code in DETAILS
            and request.path.startswith(PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            rewritten = json_error(
                response.status_code,
                error_body(CODES[response.status_code], DETAILS[response.status_code]),
            )
            if response.has_header("Allow"):
                rewritten["Allow"] = response["Allow"]
            return rewritten
        return response
