"""Meta's webhook endpoint: its own NinjaAPI (no docs, own namespace) so the internal API's spec
holds only internal operations. The view verifies, stores, hands over, answers; nothing more."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI

from whatsapp.services.webhooks import receive_webhook
from whatsapp.signature import verify_token_matches

api = NinjaAPI(
    title="WhatsApp webhook",
    urls_namespace="whatsapp",
    docs_url=None,
    openapi_url=None,
)


def verify_subscription(request: HttpRequest) -> HttpResponse:
    mode = request.GET.get("hub.mode")
    token = request.GET.get("hub.verify_token")
    challenge = request.GET.get("hub.challenge", "")
    if mode == "subscribe" and verify_token_matches(token, settings.WHATSAPP_VERIFY_TOKEN):
        return HttpResponse(challenge, content_type="text/plain")
    return HttpResponse("forbidden", status=403, content_type="text/plain")


# replay_webhook --url marks its POSTs so their captures say they came from a replay (the body
# is signed like any other, so only a holder of the app secret can set it).
REPLAY_HEADER = "X-Webhook-Replay"


def receive(request: HttpRequest) -> HttpResponse:
    result = receive_webhook(
        raw_body=request.body,
        headers=request.headers,
        replayed=request.headers.get(REPLAY_HEADER) == "1",
    )
    # Meta reads only the status code; the counts are for replay_webhook --url and for logs.
    body: dict[str, object] = {
        "status": result.outcome,
        "messages": result.messages,
        "duplicates": result.duplicates,
        "statuses": result.statuses,
        "errors": result.errors,
        "failed": result.failed,
    }
    if result.detail and result.status_code != 200:
        body["detail"] = result.detail
    return JsonResponse(body, status=result.status_code)


for _path in ("/webhook/", "/webhook"):
    api.get(_path, include_in_schema=False, url_name=None)(verify_subscription)
    api.post(_path, include_in_schema=False, url_name=None)(receive)
