"""Webhook subscriptions router of the internal API (/api/v1/webhook-subscriptions).

Thin: parse, call an `events` service, shape. The secret is in the create operation's answer
and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from events.errors import EventsError
from events.models import EventDelivery, EventSubscription
from events.schemas import (
    DeliveryFilters,
    DeliveryOut,
    DeliveryPage,
    SubscriptionCreatedOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionPatch,
)
from events.services import delivery, recording, subscriptions
from project.api_types import ObjectId
from project.auth import require_perm
from project.errors import ApiError, error_responses
from project.idempotency import OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from project.pagination import PageParams, forbid_unknown_query, paginate

subscriptions_router = Router(tags=["webhook subscriptions"])

POST_EXTRA = {"parameters": [IDEMPOTENCY_KEY]}
VIEW = "events.view_eventsubscription"
CHANGE = "events.change_eventsubscription"


@contextmanager
def _refusals() -> Iterator[None]:
    """The events services' domain errors, as the API's error body."""
    try:
        yield
    except EventsError as error:
        raise ApiError(error.http_status, error.code, error.message, error.extra()) from error


def _subscription(subscription_id: int) -> EventSubscription:
    return get_object_or_404(EventSubscription, pk=subscription_id)


def _deliveries(subscription_id: int) -> Any:
    return EventDelivery.objects.filter(subscription_id=subscription_id).prefetch_related("log")


@subscriptions_router.get(
    "",
    response={200: SubscriptionPage, **error_responses(401, 403, 422)},
    operation_id="webhook_subscriptions_list",
    summary="List webhook subscriptions",
    description="Receivers of signed events, oldest first. Secrets are never listed.",
)
def list_subscriptions(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    require_perm(request, VIEW)
    forbid_unknown_query(request, page)
    return paginate(request, EventSubscription.objects.order_by("id"), page)


@subscriptions_router.post(
    "",
    response={201: SubscriptionCreatedOut, **error_responses(401, 403, 409, 422)},
    operation_id="webhook_subscriptions_create",
    summary="Create a webhook subscription",
    description=(
        "Starts sending the chosen events to `url`, signed with a new secret (Standard "
        "Webhooks). The answer holds the secret (`whsec_...`): it is shown only this once. "
        "409 `too_many_subscriptions` past `EVENTS_MAX_SUBSCRIPTIONS`."
    ),
    openapi_extra=POST_EXTRA,
)
def create_subscription(request: HttpRequest, body: SubscriptionIn) -> Status:
    require_perm(request, "events.add_eventsubscription")
    forbid_unknown_query(request)
    with _refusals():
        subscription = subscriptions.create_subscription(**body.model_dump())
    return Status(201, subscription)


@subscriptions_router.get(
    "/{subscription_id}",
    response={200: SubscriptionOut, **error_responses(401, 403, 404, 422)},
    operation_id="webhook_subscriptions_get",
    summary="Get a webhook subscription",
    description="One subscription and its receiver's health (failing since, disabled why).",
)
def get_subscription(request: HttpRequest, subscription_id: ObjectId) -> EventSubscription:
    require_perm(request, VIEW)
    forbid_unknown_query(request)
    return _subscription(subscription_id)


@subscriptions_router.patch(
    "/{subscription_id}",
    response={200: SubscriptionOut, **error_responses(401, 403, 404, 422)},
    operation_id="webhook_subscriptions_update",
    summary="Update a webhook subscription",
    description=(
        "Changes only the fields sent. `active: true` turns a disabled subscription on again "
        "and forgets its failures; `active: false` fails its pending events."
    ),
)
def update_subscription(
    request: HttpRequest, subscription_id: ObjectId, body: SubscriptionPatch
) -> EventSubscription:
    require_perm(request, CHANGE)
    forbid_unknown_query(request)
    subscription = _subscription(subscription_id)
    with _refusals():
        return subscriptions.update_subscription(
            subscription=subscription, changes=body.model_dump(exclude_unset=True)
        )


@subscriptions_router.delete(
    "/{subscription_id}",
    response={204: None, **error_responses(401, 403, 404, 422)},
    operation_id="webhook_subscriptions_delete",
    summary="Delete a webhook subscription",
    description="Nothing more is sent to it; its delivery log is deleted with it.",
)
def delete_subscription(request: HttpRequest, subscription_id: ObjectId) -> Status:
    require_perm(request, "events.delete_eventsubscription")
    forbid_unknown_query(request)
    subscriptions.delete_subscription(subscription=_subscription(subscription_id))
    return Status(204, None)


@subscriptions_router.post(
    "/{subscription_id}/test",
    response={202: DeliveryOut, **error_responses(401, 403, 404, 409, 422)},
    operation_id="webhook_subscriptions_send_test",
    summary="Send a test event",
    description=(
        "Queues a signed `webhook.test` event to this receiver alone, to be sent at once; "
        "follow it in the delivery log. 409 `subscription_inactive` while it is off."
    ),
    openapi_extra=POST_EXTRA,
)
def send_test(request: HttpRequest, subscription_id: ObjectId) -> Status:
    require_perm(request, CHANGE)
    forbid_unknown_query(request)
    subscription = _subscription(subscription_id)
    with _refusals():
        test = recording.record_test(subscription=subscription)
    return Status(202, _deliveries(subscription_id).get(pk=test.pk))


@subscriptions_router.get(
    "/{subscription_id}/deliveries",
    response={200: DeliveryPage, **error_responses(401, 403, 404, 422)},
    operation_id="webhook_subscriptions_deliveries",
    summary="A subscription's delivery log",
    description=(
        "Events sent (or to be sent) to this receiver, newest first, each with every attempt: "
        "status code, the start of the answer, duration, next attempt."
    ),
)
def list_deliveries(
    request: HttpRequest,
    subscription_id: ObjectId,
    filters: Query[DeliveryFilters],
    page: Query[PageParams],
) -> dict[str, Any]:
    require_perm(request, VIEW)
    forbid_unknown_query(request, filters, page)
    _subscription(subscription_id)
    rows = _deliveries(subscription_id).order_by("-id")
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.event_type:
        rows = rows.filter(event_type=filters.event_type)
    return paginate(request, rows, page)


@subscriptions_router.post(
    "/{subscription_id}/deliveries/{delivery_id}/resend",
    response={202: DeliveryOut, **error_responses(401, 403, 404, 409, 422)},
    operation_id="webhook_subscriptions_resend",
    summary="Send an event again",
    description=(
        "Queues the event again (delivered or failed), with the same `webhook-id`. 409 "
        "`delivery_in_progress` while it is being sent, `subscription_inactive` while the "
        "subscription is off."
    ),
    openapi_extra=POST_EXTRA,
)
def resend(request: HttpRequest, subscription_id: ObjectId, delivery_id: ObjectId) -> Status:
    require_perm(request, CHANGE)
    forbid_unknown_query(request)
    row = get_object_or_404(EventDelivery, pk=delivery_id, subscription_id=subscription_id)
    with _refusals():
        delivery.send_again(delivery_ids=[row.pk])
    return Status(202, _deliveries(subscription_id).get(pk=row.pk))
