"""A Python client generated from the committed spec (openapi-python-client, as integrators
generate theirs) calls every operation against a live server and parses every answer.

The generator is a dev dependency; the client is generated afresh from `openapi/openapi.json`
on every run, so a spec change that breaks generated clients fails here.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.files.base import ContentFile
from model_bakery import baker
from rest_framework.authtoken.models import Token

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
PACKAGE = "raffle_api_client"
JPEG = b"\xff\xd8\xff\xe0 a payment proof"


@pytest.fixture(scope="module")
def gen(tmp_path_factory) -> Any:
    """The generated package, imported."""
    where = tmp_path_factory.mktemp("generated")
    config = where / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter needed to import it
    generator = Path(sys.executable).with_name("openapi-python-client")
    subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(SPEC),
            "--meta",
            "none",
            "--output-path",
            str(where / PACKAGE),
            "--config",
            str(config),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def op(name: str) -> Any:
    """The generated module of operation `name` (e.g. "orders.orders_cancel")."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


@pytest.fixture
def client(gen, transactional_db, live_server, settings) -> Any:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    user = baker.make("auth.User", is_staff=True, is_superuser=True, is_active=True)
    token = Token.objects.create(user=user)
    with gen.AuthenticatedClient(
        base_url=live_server.url,
        token=token.key,
        raise_on_unexpected_status=True,
        timeout=httpx.Timeout(60.0),  # httpx's 5 s default is too short on a loaded CI machine
    ) as authenticated:
        yield authenticated


def ok(response: Any, status: int, parsed_type: str | None) -> Any:
    assert response.status_code == HTTPStatus(status), response.content
    if parsed_type is not None:
        assert type(response.parsed).__name__ == parsed_type, response.content
    return response.parsed


def test_every_operation_through_the_generated_client(client):
    from raffles import services
    from raffles.models import Order

    # Raffles
    raffle = ok(
        op("raffles.raffles_create").sync_detailed(
            client=client,
            body=model("RaffleIn")(title="Generated", ticket_price="5.00", max_number=30),
            idempotency_key=uuid.uuid4().hex,
        ),
        201,
        "RaffleOut",
    )
    assert (raffle.currency, raffle.min_number, raffle.max_tickets_per_order) == ("USD", 0, 10)
    updated = ok(
        op("raffles.raffles_update").sync_detailed(
            raffle.id, client=client, body=model("RafflePatch")(is_active=True)
        ),
        200,
        "RaffleOut",
    )
    assert updated.is_active is True
    ok(op("raffles.raffles_get").sync_detailed(raffle.id, client=client), 200, "RaffleOut")
    listed = ok(op("raffles.raffles_list").sync_detailed(client=client), 200, "RafflePage")
    assert [r.id for r in listed.results] == [raffle.id]
    ok(
        op("raffles.raffles_availability").sync_detailed(raffle.id, client=client),
        200,
        "AvailabilityOut",
    )
    tickets = ok(
        op("raffles.raffles_tickets").sync_detailed(raffle.id, client=client, page_size=5),
        200,
        "TicketPage",
    )
    assert (tickets.count, len(tickets.results)) == (31, 5)
    assert tickets.next_.endswith("?page=2&page_size=5")

    # Orders, one per way of choosing numbers
    create = op("orders.orders_create").sync_detailed
    chosen = ok(
        create(
            client=client,
            body=model("OrderByNumbersIn")(raffle_id=raffle.id, wa_id="5491100000001", numbers=[3]),
        ),
        201,
        "OrderOut",
    )
    drawn = ok(
        create(
            client=client,
            body=model("OrderByQtyIn")(raffle_id=raffle.id, wa_id="5491100000002", qty=2),
            idempotency_key=uuid.uuid4().hex,
        ),
        201,
        "OrderOut",
    )
    third = ok(
        create(
            client=client,
            body=model("OrderByNumbersIn")(
                raffle_id=raffle.id, wa_id="5491100000003", name="Ana", numbers=[9]
            ),
        ),
        201,
        "OrderOut",
    )
    assert (chosen.numbers, len(drawn.numbers), chosen.currency) == ([3], 2, "USD")
    page = ok(op("orders.orders_list").sync_detailed(client=client), 200, "OrderPage")
    assert page.count == 3

    # A proof, downloaded as bytes
    services.attach_payment_proof(
        order=Order.objects.get(pk=chosen.id),
        media_id="media-1",
        mime_type="image/jpeg",
        file=ContentFile(JPEG, "proof.jpg"),
    )
    with_proof = ok(
        op("orders.orders_get").sync_detailed(chosen.id, client=client), 200, "OrderOut"
    )
    proof = with_proof.proofs[0]
    assert proof.download_url.startswith(client._base_url)
    file = ok(
        op("orders.orders_proof_file").sync_detailed(chosen.id, proof.id, client=client),
        200,
        "File",
    )
    assert file.payload.read() == JPEG

    # Confirm and cancel without a body, and with one
    confirm = op("orders.orders_confirm_payment").sync_detailed
    cancel = op("orders.orders_cancel").sync_detailed
    assert ok(confirm(chosen.id, client=client), 200, "OrderOut").status == "PAID"
    assert ok(cancel(drawn.id, client=client), 200, "OrderOut").status == "CANCELLED"
    key = uuid.uuid4().hex
    first = confirm(
        third.id, client=client, body=model("ConfirmIn")(note="seen"), idempotency_key=key
    )
    again = confirm(
        third.id, client=client, body=model("ConfirmIn")(note="seen"), idempotency_key=key
    )
    assert ok(first, 200, "OrderOut").status == ok(again, 200, "OrderOut").status == "PAID"
    assert again.headers["Idempotent-Replayed"] == "true"
    refused = ok(
        cancel(third.id, client=client, body=model("CancelIn")(reason="changed my mind")),
        409,
        "ErrorOut",
    )
    assert refused.code == model("ErrorOutCode").INVALID_TRANSITION

    # Errors parse as ErrorOut with a known code
    locked = ok(
        op("raffles.raffles_update").sync_detailed(
            raffle.id, client=client, body=model("RafflePatch")(currency="JPY")
        ),
        409,
        "ErrorOut",
    )
    assert locked.code == model("ErrorOutCode").PRICE_LOCKED
    missing = ok(op("orders.orders_get").sync_detailed(10**9, client=client), 404, "ErrorOut")
    assert missing.code == model("ErrorOutCode").NOT_FOUND

    # Buyers
    contacts = ok(op("contacts.contacts_list").sync_detailed(client=client), 200, "ContactPage")
    assert contacts.count == 3
    ok(
        op("contacts.contacts_get").sync_detailed(contacts.results[0].id, client=client),
        200,
        "ContactDetailOut",
    )

    # A raffle nobody ordered from can be deleted
    spare = ok(
        op("raffles.raffles_create").sync_detailed(
            client=client, body=model("RaffleIn")(title="Spare", ticket_price="1", max_number=3)
        ),
        201,
        "RaffleOut",
    )
    ok(op("raffles.raffles_delete").sync_detailed(spare.id, client=client), 204, None)

    # Webhook subscriptions
    subs = "webhook_subscriptions.webhook_subscriptions_"
    created = ok(
        op(subs + "create").sync_detailed(
            client=client,
            body=model("SubscriptionIn")(
                url="https://n8n.example.com/webhook/raffles",
                event_types=[model("SubscriptionInEventTypesItem").ORDER_PAID],
            ),
        ),
        201,
        "SubscriptionCreatedOut",
    )
    assert created.secret.startswith("whsec_")
    ok(op(subs + "list").sync_detailed(client=client), 200, "SubscriptionPage")
    ok(op(subs + "get").sync_detailed(created.id, client=client), 200, "SubscriptionOut")
    ok(
        op(subs + "update").sync_detailed(
            created.id, client=client, body=model("SubscriptionPatch")(description="n8n")
        ),
        200,
        "SubscriptionOut",
    )
    test_event = ok(
        op(subs + "send_test").sync_detailed(created.id, client=client), 202, "DeliveryOut"
    )
    log = ok(op(subs + "deliveries").sync_detailed(created.id, client=client), 200, "DeliveryPage")
    assert test_event.id in [d.id for d in log.results]
    ok(
        op(subs + "resend").sync_detailed(created.id, test_event.id, client=client),
        202,
        "DeliveryOut",
    )
    ok(op(subs + "delete").sync_detailed(created.id, client=client), 204, None)
