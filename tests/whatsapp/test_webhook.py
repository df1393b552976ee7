"""The webhook over HTTP: verification, signature first, status codes, nothing kept if refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.support.signing import WEBHOOK_URL, load_fixture, signed_post
from tests.whatsapp.conftest import APP_SECRET, VERIFY_TOKEN
from whatsapp.models import Contact, InboundMessage, WebhookCapture
from whatsapp.simulator import encode, sign, signed_headers, text_message_payload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("whatsapp_settings")]


def _verify(client, mode="subscribe", token=VERIFY_TOKEN, challenge="1158201444", path=WEBHOOK_URL):
    return client.get(
        path, {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}
    )


def test_verification_echoes_exactly_the_challenge_as_plain_text(client):
    response = _verify(client)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"1158201444"


def test_verification_works_without_the_trailing_slash(client):
    assert _verify(client, path="/whatsapp/webhook").content == b"1158201444"


@pytest.mark.parametrize(
    "mode,token", [("subscribe", "wrong"), ("unsubscribe", VERIFY_TOKEN), (None, VERIFY_TOKEN)]
)
def test_verification_with_a_wrong_token_or_mode_is_forbidden(client, mode, token):
    params = {"hub.verify_token": token, "hub.challenge": "x"}
    if mode:
        params["hub.mode"] = mode

    response = client.get(WEBHOOK_URL, params)

    assert response.status_code == 403
    assert b"x" not in response.content


def test_verification_is_forbidden_when_no_token_is_configured(client, settings):
    settings.WHATSAPP_VERIFY_TOKEN = ""

    assert _verify(client, token="").status_code == 403


def test_a_signed_text_message_is_stored_and_acknowledged(client):
    response = signed_post(client, load_fixture("text"))

    assert response.status_code == 200
    message = InboundMessage.objects.get()
    assert message.text == "Hola, quiero comprar números"
    assert WebhookCapture.objects.get().outcome == "processed"


def test_a_post_without_signature_is_401_and_stores_nothing(client):
    body = encode(load_fixture("text"))

    response = client.post(WEBHOOK_URL, data=body, content_type="application/json")

    assert response.status_code == 401
    assert not WebhookCapture.objects.exists()
    assert not InboundMessage.objects.exists()


def test_a_post_with_a_wrong_signature_is_403_and_stores_nothing(client):
    response = signed_post(client, load_fixture("text"), secret="another-secret")

    assert response.status_code == 403
    assert not WebhookCapture.objects.exists()
    assert not Contact.objects.exists()


def test_the_signature_covers_the_raw_bytes_not_the_parsed_json(client):
    body = encode(load_fixture("text"))
    reformatted = json.dumps(json.loads(body), indent=2).encode()

    response = client.post(
        WEBHOOK_URL,
        data=reformatted,
        content_type="application/json",
        headers=signed_headers(body, APP_SECRET),
    )

    assert response.status_code == 403


def test_without_an_app_secret_every_post_is_rejected(client, settings):
    settings.WHATSAPP_APP_SECRET = ""

    response = signed_post(client, load_fixture("text"), secret="")

    assert response.status_code == 403
    assert not WebhookCapture.objects.exists()


def test_malformed_json_is_400_but_captured(client):
    response = signed_post(client, b'{"object": "whatsapp_business_account", "entry": [')

    assert response.status_code == 400
    assert WebhookCapture.objects.get().outcome == "malformed_json"


def test_valid_json_of_an_unexpected_shape_is_200_logged_and_kept(client):
    response = signed_post(client, {"hello": "world"})

    assert response.status_code == 200
    capture = WebhookCapture.objects.get()
    assert capture.outcome == "unexpected_shape"
    assert bytes(capture.body) == encode({"hello": "world"})


def test_a_capture_keeps_the_raw_body_and_the_signature_header(client):
    body = encode(text_message_payload("5491100000001", "hola"))

    signed_post(client, body)

    capture = WebhookCapture.objects.get()
    assert bytes(capture.body) == body
    assert capture.headers["x-hub-signature-256"] == sign(body, APP_SECRET)
    assert capture.replayed is False


def test_a_body_over_3_mb_is_refused(client):
    body = b'{"object":"x","entry":[],"pad":"' + b"a" * (3 * 1024 * 1024) + b'"}'

    response = signed_post(client, body)

    assert response.status_code in (400, 413)
    assert not InboundMessage.objects.exists()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
message_like = st.fixed_dictionaries(
    {"id": st.text(max_size=300) | st.integers(), "from": st.text(max_size=300) | st.none()},
    optional={
        "type": st.sampled_from(["text", "image", "interactive", "zzz"]) | st.text(),
        "text": json_values,
        "image": json_values,
        "interactive": json_values,
        "timestamp": st.text() | st.integers(),
    },
)
webhook_like = st.fixed_dictionaries(
    {
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {
                                "field": st.sampled_from(["messages", "other"]) | st.none(),
                                "value": st.fixed_dictionaries(
                                    {},
                                    optional={
                                        "contacts": json_values,
                                        "messages": st.lists(message_like, max_size=3)
                                        | json_values,
                                        "statuses": json_values,
                                        "errors": json_values,
                                        "metadata": json_values,
                                    },
                                )
                                | json_values,
                            }
                        ),
                        max_size=2,
                    )
                }
            ),
            max_size=2,
        )
    }
)


@hsettings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=json_values | webhook_like)
@example(body=load_fixture("batch"))
@example(body=load_fixture("unknown_type"))
def test_arbitrary_json_with_a_valid_signature_never_500s_nor_leaves_partial_rows(
    client, recorded_statuses, body
):
    response = signed_post(client, encode(body))

    assert response.status_code in (200, 400)
    for message in InboundMessage.objects.all():
        assert message.contact_id is not None
    # A contact exists only because one of its messages was stored.
    assert not Contact.objects.filter(inbound_messages__isnull=True).exists()
    assert not WebhookCapture.objects.filter(outcome="received").exists()


def test_a_post_without_the_trailing_slash_is_handled_too(client):
    response = signed_post(
        client, text_message_payload("5491100000001", "hola"), url="/whatsapp/webhook"
    )

    assert response.status_code == 200
    assert InboundMessage.objects.count() == 1


def test_a_handler_failure_is_still_acknowledged_with_200(client, handler):
    handler.fail_on.add("boom")

    response = signed_post(client, text_message_payload("5491100000001", "boom"))

    assert response.status_code == 200
    assert response.json()["failed"] == 1


def test_the_webhook_api_has_no_docs_and_stays_out_of_the_internal_spec(client):
    assert client.get("/whatsapp/docs").status_code == 404
    assert client.get("/whatsapp/openapi.json").status_code == 404

    spec = client.get("/api/v1/openapi.json")

    if spec.status_code == 200:
        # (/api/v1/webhook-subscriptions is the events API, not Meta's webhook.)
        assert not any(path.rstrip("/").endswith("/webhook") for path in spec.json()["paths"])
