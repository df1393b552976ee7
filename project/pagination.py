"""Page-number pagination for the Ninja API with the same envelope as DRF's:
`{"count", "next", "previous", "results"}`. `next` is a full URL, so an n8n HTTP Request node
paginates by following it until it is null.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from ninja import Field, Schema
from ninja.errors import ValidationError as NinjaValidationError


class PageParams(Schema):
    """`page` (from 1) and `page_size` query parameters."""

    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    page_size: int = Field(
        None,  # type: ignore[assignment]
        ge=1,
        le=500,
        description="Items per page (default 50, at most 500).",
    )


class PageOut(Schema):
    count: int = Field(description="Number of items matching the filters, on all pages.")
    next: str | None = Field(description="URL of the next page; null on the last page.")
    previous: str | None = Field(description="URL of the previous page; null on the first page.")


def page_url(request: HttpRequest, page: int) -> str:
    """The URL of `page` with the request's other query parameters, each once.

    A parameter sent twice counts with its last value (as the filters read it), and the link
    carries that value once: n8n re-adds its own query parameters to every `next` it follows,
    and copying them all back made the URL grow with every page until the server refused it.
    """
    query = QueryDict(mutable=True)
    for name in request.GET:
        query[name] = request.GET[name]  # the last value
    query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def paginate(
    request: HttpRequest,
    queryset: QuerySet[Any],
    params: PageParams,
    shape: Callable[[Iterable[Any]], list[Any]] = list,
) -> dict[str, Any]:
    """One page of `queryset` (already filtered and ordered) in the envelope.

    `shape` turns the page's objects into results (e.g. adds prefetched data).
    """
    size = min(params.page_size or settings.API_PAGE_SIZE, settings.API_MAX_PAGE_SIZE)
    offset = (params.page - 1) * size
    items = list(queryset[offset : offset + size])
    count = page_count(queryset, offset, size, items)
    has_next = offset + size < count
    return {
        "count": count,
        "next": page_url(request, params.page + 1) if has_next else None,
        "previous": page_url(request, params.page - 1) if params.page > 1 else None,
        "results": shape(items),
    }


def page_count(queryset: QuerySet[Any], offset: int, size: int, items: list[Any]) -> int:
    """How many items match on all pages. A page that is neither full nor past the end is the
    last one, so it tells the count; only the other pages pay for a COUNT over the filtered set
    (which the status indexes keep to an index scan)."""
    if len(items) < size and (items or offset == 0):
        return offset + len(items)
    return queryset.count()


def forbid_unknown_query(request: HttpRequest, *params: Schema) -> None:
    """422 for a query parameter the operation does not know.

    A misspelt filter (`stauts=PAID`) silently ignored would hand an n8n workflow every order;
    better to say so.
    """
    allowed = {
        field.alias or name for model in params for name, field in type(model).model_fields.items()
    }
    unknown = sorted(set(request.GET) - allowed)
    if unknown:
        raise NinjaValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": "Unknown query parameter.",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ]
        )
