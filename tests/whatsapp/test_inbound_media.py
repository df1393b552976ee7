"""Payment-proof media: fetched only when the handler asks, after commit; checked by size,
digest and content; the token sent only to allowed hosts; kept private, and pruned."""

from __future__ import annotations

import hashlib

import httpx
import pytest
import respx

from tests.support.signing import signed_post
from whatsapp.models import InboundMessage, MediaStatus
from whatsapp.services import inbound, media
from whatsapp.services.media import (
    download_media,
    request_media_download,
    retry_failed_media,
    sniff_proof_type,
)
from whatsapp.signals import media_stored
from whatsapp.simulator import deliver, document_payload, image_payload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("whatsapp_settings")]

GRAPH = "http://graph.test/v23.0"
CDN = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 100
PDF = b"%PDF-1.7\n" + b"0" * 100


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(media, "_BACKOFF_SECONDS", (0, 0))


@pytest.fixture
def credentials(whatsapp_settings):
    whatsapp_settings.WHATSAPP_ACCESS_TOKEN = "token-123"


def serve_media(router, content: bytes, *, media_id="1003383421387256", sha256_hex=None, size=None):
    router.get(f"{GRAPH}/{media_id}").respond(
        json={
            "messaging_product": "whatsapp",
            "url": CDN,
            "mime_type": "image/jpeg",
            "sha256": sha256_hex or hashlib.sha256(content).hexdigest(),
            "file_size": str(len(content) if size is None else size),
            "id": media_id,
        }
    )
    return router.get(CDN).respond(content=content)


def receive(payload, *, asked: bool = True) -> InboundMessage:
    """Store the message; `asked`: the handler wants its file (a payment proof)."""
    deliver(payload)
    message = InboundMessage.objects.get()
    if asked:
        request_media_download(message=message)
    return message


@pytest.mark.parametrize(
    "content,ext", [(JPEG, "jpg"), (PNG, "png"), (WEBP, "webp"), (PDF, "pdf"), (b"MZ\x90", None)]
)
def test_proof_types_are_recognised_by_content(content, ext):
    kind = sniff_proof_type(content)

    assert (kind[0] if kind else None) == ext


def test_an_image_nobody_asked_for_is_not_downloaded(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = receive(image_payload("5491100000001", content=JPEG), asked=False)

    message.refresh_from_db()
    assert message.media_status == MediaStatus.NOT_REQUESTED
    assert callbacks == []
    assert download_media(message_id=message.pk) == MediaStatus.NOT_REQUESTED


def test_the_download_is_enqueued_only_after_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    enqueued: list[int] = []
    monkeypatch.setattr(
        media, "enqueue_media_download", lambda *, message_id: enqueued.append(message_id)
    )

    with django_capture_on_commit_callbacks() as callbacks:
        message = receive(image_payload("5491100000001", content=JPEG))
        assert enqueued == []  # not while the transaction is open

    assert len(callbacks) == 1
    for callback in callbacks:
        callback()
    assert enqueued == [message.pk]
    assert message.media_status == MediaStatus.PENDING


def test_a_verified_jpeg_is_stored_under_a_generated_name_and_signalled(credentials):
    message = receive(image_payload("5491100000001", content=JPEG, caption="pago"))
    stored: list[InboundMessage] = []
    receiver = lambda message, **kw: stored.append(message)  # noqa: E731
    media_stored.connect(receiver)

    try:
        with respx.mock(assert_all_called=False) as router:
            serve_media(router, JPEG)
            status = download_media(message_id=message.pk)
    finally:
        media_stored.disconnect(receiver)

    message.refresh_from_db()
    assert status == message.media_status == MediaStatus.STORED
    assert message.media_file.name.startswith("whatsapp/inbound/")
    assert message.media_file.name.endswith(".jpg")
    assert "pago" not in message.media_file.name
    assert message.media_file.read() == JPEG
    assert [m.pk for m in stored] == [message.pk]


def test_both_graph_calls_carry_the_bearer_token(credentials):
    message = receive(document_payload("5491100000001", content=PDF, media_id="77"))

    with respx.mock(assert_all_called=False) as router:
        file_route = serve_media(router, PDF, media_id="77")
        download_media(message_id=message.pk)

        assert router.calls[0].request.headers["Authorization"] == "Bearer token-123"
        assert file_route.calls.last.request.headers["Authorization"] == "Bearer token-123"


def test_a_file_that_is_not_a_proof_is_rejected_whatever_its_claimed_type(credentials):
    exe = b"MZ\x90\x00" + b"\x00" * 64
    message = receive(image_payload("5491100000001", content=exe))

    with respx.mock(assert_all_called=False) as router:
        serve_media(router, exe)
        status = download_media(message_id=message.pk)

    message.refresh_from_db()
    assert status == MediaStatus.REJECTED
    assert not message.media_file
    assert "not a JPEG" in message.media_error


def test_a_file_over_the_size_limit_is_rejected_before_download(credentials, settings):
    settings.WHATSAPP_MEDIA_MAX_BYTES = 100
    message = receive(image_payload("5491100000001", content=JPEG))

    with respx.mock(assert_all_called=False) as router:
        file_route = serve_media(router, JPEG)
        status = download_media(message_id=message.pk)
        assert not file_route.called

    assert status == MediaStatus.REJECTED


def test_a_digest_mismatch_with_the_webhook_fails_and_stays_visible(credentials):
    message = receive(image_payload("5491100000001", content=b"something else"))

    with respx.mock(assert_all_called=False) as router:
        serve_media(router, JPEG)
        status = download_media(message_id=message.pk)

    message.refresh_from_db()
    assert status == message.media_status == MediaStatus.FAILED
    assert "webhook" in message.media_error
    assert message.media_attempts == media.MAX_ATTEMPTS
    assert not message.media_file


def test_a_size_mismatch_with_the_media_endpoint_fails(credentials):
    message = receive(image_payload("5491100000001", content=JPEG))

    with respx.mock(assert_all_called=False) as router:
        serve_media(router, JPEG, size=len(JPEG) + 1)
        status = download_media(message_id=message.pk)

    assert status == MediaStatus.FAILED


def test_a_transient_error_is_retried_and_then_succeeds(credentials):
    message = receive(image_payload("5491100000001", content=JPEG))

    with respx.mock(assert_all_called=False) as router:
        router.get(f"{GRAPH}/1003383421387256").mock(
            side_effect=[
                httpx.Response(503),
                httpx.ConnectError("down"),
                httpx.Response(
                    200,
                    json={
                        "url": CDN,
                        "sha256": hashlib.sha256(JPEG).hexdigest(),
                        "file_size": str(len(JPEG)),
                    },
                ),
            ]
        )
        router.get(CDN).respond(content=JPEG)
        status = download_media(message_id=message.pk)

    assert status == MediaStatus.STORED


def test_without_credentials_the_download_is_skipped_and_says_so():
    message = receive(image_payload("5491100000001", content=JPEG))

    status = download_media(message_id=message.pk)

    message.refresh_from_db()
    assert status == message.media_status == MediaStatus.SKIPPED
    assert "WHATSAPP_ACCESS_TOKEN" in message.media_error


def test_failed_downloads_are_re_driven(credentials, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    message = receive(image_payload("5491100000001", content=JPEG))
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{GRAPH}/1003383421387256").respond(500)
        download_media(message_id=message.pk)
    message.refresh_from_db()
    assert message.media_status == MediaStatus.FAILED

    with respx.mock(assert_all_called=False) as router:
        serve_media(router, JPEG)
        count = retry_failed_media()

    message.refresh_from_db()
    assert count == 1
    assert message.media_status == MediaStatus.STORED


def test_media_of_another_business_number_is_not_downloaded():
    message = receive(image_payload("5491100000001", content=JPEG, phone_number_id="999"))

    assert message.media_status == MediaStatus.NONE


@pytest.mark.django_db(transaction=True)
def test_a_proof_posted_to_the_webhook_is_downloaded_by_a_task_after_commit(
    client, credentials, settings
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.WHATSAPP_INBOUND_HANDLER = "tests.whatsapp.conftest.asks_for_media"
    inbound._import_handler.cache_clear()
    payload = document_payload("5491100000001", content=PDF, media_id="1240359347164210")

    with respx.mock(assert_all_called=True) as router:
        serve_media(router, PDF, media_id="1240359347164210")
        response = signed_post(client, payload)

    message = InboundMessage.objects.get()
    assert response.status_code == 200
    assert message.media_status == MediaStatus.STORED
    assert message.media_file.read() == PDF


def test_a_download_another_worker_already_started_is_left_to_it(credentials, monkeypatch):
    message = receive(image_payload("5491100000001", content=JPEG))

    def must_not_download(**kwargs):
        raise AssertionError("the other worker downloads it")

    real_filter = InboundMessage.objects.filter
    calls = {"n": 0}

    def filter_after_race(*args, **kwargs):
        if "media_attempts" in kwargs and calls["n"] == 0:
            calls["n"] += 1
            real_filter(pk=message.pk).update(media_attempts=5)  # the other worker's claim
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(InboundMessage.objects, "filter", filter_after_race)
    monkeypatch.setattr(media, "fetch_media", must_not_download)

    status = download_media(message_id=message.pk)

    assert status == MediaStatus.PENDING
    assert InboundMessage.objects.get(pk=message.pk).media_attempts == 5
