"""Domain errors of the events app: each has a stable `code`; the API answers them with the
error body `{"code", "detail", "extra"}` and `http_status` (409, as for the raffles' rules: the
request was well formed, the rule refuses it), the admin shows the message."""

from __future__ import annotations

from typing import Any


class EventsError(Exception):
    """Base of every rule a caller of the events services can break."""

    code: str = "events_error"
    http_status: int = 409

    @property
    def message(self) -> str:
        return str(self)

    def extra(self) -> dict[str, Any]:
        return {}


class InvalidTargetUrl(EventsError):
    code = "invalid_target_url"

    def __init__(self, *, url: str, reason: str) -> None:
        self.url, self.reason = url, reason
        super().__init__(f"The target URL is not usable: {reason}")

    def extra(self) -> dict[str, Any]:
        return {"url": self.url[:200], "reason": self.reason}


class UnknownEventTypes(EventsError):
    code = "unknown_event_types"

    def __init__(self, *, event_types: list[str], known: list[str]) -> None:
        self.event_types, self.known = event_types, known
        if event_types:
            detail = f"Unknown event types: {', '.join(event_types)}."
        else:
            detail = "Choose at least one event type."
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        return {"event_types": self.event_types, "known": self.known}


class TooManySubscriptions(EventsError):
    code = "too_many_subscriptions"

    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        super().__init__(f"At most {limit} webhook subscriptions (EVENTS_MAX_SUBSCRIPTIONS).")

    def extra(self) -> dict[str, Any]:
        return {"limit": self.limit}


class SubscriptionInactive(EventsError):
    code = "subscription_inactive"

    def __init__(self, *, subscription_id: int) -> None:
        self.subscription_id = subscription_id
        super().__init__("This subscription is not active: turn it on first.")

    def extra(self) -> dict[str, Any]:
        return {"subscription_id": self.subscription_id}


class DeliveryInProgress(EventsError):
    code = "delivery_in_progress"

    def __init__(self, *, delivery_id: int) -> None:
        self.delivery_id = delivery_id
        super().__init__("This event is being sent right now; try again in a minute.")

    def extra(self) -> dict[str, Any]:
        return {"delivery_id": self.delivery_id}
