"""The internal typed API for n8n and scripts: one NinjaAPI, one router per app."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Raffle Backoffice internal API",
    version="1.0.0",
    description=(
        "Operate raffles, tickets, orders and buyers from n8n or scripts. "
        "Authenticate with `Authorization: Bearer <token>` (or `Token <token>`)."
    ),
    urls_namespace="api-v1",
)
