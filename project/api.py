"""The internal typed API for n8n and scripts: one NinjaAPI, one router per app.

Every operation needs a staff token (see `project.auth`); only the docs and the spec are public.
Every failure answers with the error body of `project.errors`.
"""

from ninja import NinjaAPI

from project.auth import staff_token
from project.errors import register_exception_handlers
from project.json_body import ObjectBodyParser


class BackofficeAPI(NinjaAPI):
    """The NinjaAPI, whose spec also documents the events pushed to receivers (webhooks)."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):  # type: ignore[override]
        from events.openapi import document_events
        from project.spec import polish

        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return polish(document_events(schema))


api = BackofficeAPI(
    title="Raffle Backoffice internal API",
    version="1.0.0",
    description=(
        "Operate raffles, tickets, orders and buyers from n8n or scripts.\n\n"
        "**Authentication**: `Authorization: Bearer <token>` (or `Token <token>`) with the token "
        "of a staff user; the user's permissions decide what the token may do.\n\n"
        '**Errors** always have the body `{"code", "detail", "extra"}`.\n\n'
        "**Retries**: POSTs accept an `Idempotency-Key` header; confirm and cancel are idempotent."
    ),
    urls_namespace="api-v1",
    auth=staff_token,
    parser=ObjectBodyParser(),
)
register_exception_handlers(api)


def _add_routers() -> None:
    # Imported here: the routers import models, and this module is imported by the URLconf.
    from events.api import subscriptions_router
    from raffles.api import orders_router, raffles_router
    from whatsapp.api import contacts_router

    api.add_router("/raffles", raffles_router)
    api.add_router("/orders", orders_router)
    api.add_router("/contacts", contacts_router)
    api.add_router("/webhook-subscriptions", subscriptions_router)


_add_routers()
