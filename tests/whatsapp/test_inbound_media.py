"""Payment-proof media: fetched only when the handler asks, after commit; checked by size,
digest and content; the token sent only to allowed hosts; kept private, and pruned."""

from __future__ import annotations

import hashlib

import httpx
import pytest
import respx
from django.core.files.base import ContentFile
from django.core.management import call_command

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
    django_capture_on_commit_callbacks, monkeypatch, credentials
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


def test_without_credentials_no_download_task_runs_or_is_logged_as_done(
    django_capture_on_commit_callbacks, monkeypatch
):
    enqueued: list[int] = []
    fake_task = type("FakeTask", (), {"enqueue": staticmethod(enqueued.append)})
    monkeypatch.setattr(media, "download_media_task", fake_task)

    with django_capture_on_commit_callbacks(execute=True):
        message = receive(image_payload("5491100000001", content=JPEG))

    message.refresh_from_db()
    assert enqueued == []
    # Waiting for a file the terminal (`chat`) hands in; never a "successful" download.
    assert message.media_status == MediaStatus.PENDING


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


# --- where the token may go -------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/steal",
        "http://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",  # plain http
        "https://lookaside.fbsbx.com:8443/x",
        "https://lookaside.fbsbx.com@evil.example/x",
        "https://lookaside.fbsbx.com.evil.example/x",
        "file:///etc/passwd",
        "not a url",
    ],
)
def test_the_token_never_goes_to_a_host_off_the_allow_list(credentials, url, caplog):
    message = receive(image_payload("5491100000001", content=JPEG))

    with respx.mock(assert_all_called=False) as router:
        router.get(f"{GRAPH}/1003383421387256").respond(
            json={"url": url, "sha256": hashlib.sha256(JPEG).hexdigest(), "file_size": "10"}
        )
        elsewhere = router.route().respond(content=JPEG)
        status = download_media(message_id=message.pk)
        hosts = [call.request.url.host for call in router.calls]

    message.refresh_from_db()
    assert status == MediaStatus.FAILED  # retried later like any failed download
    assert not elsewhere.called
    assert hosts == ["graph.test"] * media.MAX_ATTEMPTS  # the lookup only, once per try
    assert "not on an allowed host" in message.media_error
    assert "not allowed" in caplog.text


def test_meta_hosts_and_the_configured_graph_url_are_allowed(settings):
    from whatsapp.media_hosts import token_may_go_to

    settings.WHATSAPP_GRAPH_URL = "http://127.0.0.1:8123/v23.0"

    assert token_may_go_to("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
    assert token_may_go_to("https://graph.facebook.com/v23.0/123")
    assert token_may_go_to("http://127.0.0.1:8123/media-download/1")
    assert not token_may_go_to("http://127.0.0.1:9999/media-download/1")
    assert not token_may_go_to("https://127.0.0.1:8123/media-download/1")


def test_a_media_id_that_is_not_one_is_refused_without_calling_meta(credentials):
    deliver(image_payload("5491100000001", content=JPEG, media_id="../me/accounts?x=1"))
    message = InboundMessage.objects.get()
    request_media_download(message=message)

    with respx.mock(assert_all_called=False) as router:
        status = download_media(message_id=message.pk)
        calls = len(router.calls)

    assert status == MediaStatus.REJECTED
    assert calls == 0


# --- telling the apps built on the transport ----------------------------------------------------
@pytest.fixture
def failures():
    from whatsapp.signals import media_failed

    seen: list[tuple[int, str]] = []

    def receiver(sender, *, message, problem, **kwargs):
        seen.append((message.pk, problem))

    media_failed.connect(receiver)
    yield seen
    media_failed.disconnect(receiver)


def test_a_refused_file_is_announced_once_with_its_problem(credentials, failures, settings):
    settings.WHATSAPP_MEDIA_MAX_BYTES = 100
    message = receive(image_payload("5491100000001", content=JPEG))

    with respx.mock(assert_all_called=False) as router:
        serve_media(router, JPEG)
        download_media(message_id=message.pk)
        download_media(message_id=message.pk)  # a duplicate task: nothing more happens

    assert failures == [(message.pk, "too_large")]


def test_a_download_is_given_up_after_the_configured_attempts_and_announced_once(
    credentials, failures, settings
):
    settings.WHATSAPP_MEDIA_MAX_ATTEMPTS = 6
    message = receive(image_payload("5491100000001", content=JPEG))

    with respx.mock(assert_all_called=False) as router:
        router.get(f"{GRAPH}/1003383421387256").respond(500)
        download_media(message_id=message.pk)
        assert failures == []  # three tries: retried later
        download_media(message_id=message.pk)
        retried = retry_failed_media()

    message.refresh_from_db()
    assert message.media_attempts == 6
    assert failures == [(message.pk, "gave_up")]
    assert retried == 0


def test_a_receiver_that_breaks_does_not_break_the_download(credentials, caplog):
    from whatsapp.signals import media_failed

    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    media_failed.connect(broken)
    exe = b"MZ\x90\x00"
    message = receive(image_payload("5491100000001", content=exe))
    try:
        with respx.mock(assert_all_called=False) as router:
            serve_media(router, exe)
            status = download_media(message_id=message.pk)
    finally:
        media_failed.disconnect(broken)

    assert status == MediaStatus.REJECTED
    assert "receiver bug" in caplog.text


# --- housekeeping -------------------------------------------------------------------------------
def test_downloaded_files_kept_past_their_time_and_stray_files_are_pruned(
    credentials, settings, private_media
):
    import os
    import time as clock
    from datetime import timedelta

    from django.core.files.storage import default_storage
    from django.utils import timezone

    settings.WHATSAPP_MEDIA_UNCLAIMED_HOURS = 24
    old = receive(image_payload("5491100000001", content=JPEG))
    with respx.mock(assert_all_called=False) as router:
        serve_media(router, JPEG)
        download_media(message_id=old.pk)
    old.refresh_from_db()
    InboundMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    stray = default_storage.save("whatsapp/inbound/2020/01/stray.jpg", ContentFile(JPEG))
    fresh_stray = default_storage.save(
        "whatsapp/inbound/2020/01/being-saved.jpg", ContentFile(JPEG)
    )
    two_days_ago = clock.time() - 2 * 86400
    os.utime(default_storage.path(stray), (two_days_ago, two_days_ago))
    old_name = old.media_file.name

    call_command("prune_webhook_captures")

    old.refresh_from_db()
    assert not old.media_file and not default_storage.exists(old_name)
    assert old.media_status == MediaStatus.STORED  # the record of the download stays
    assert not default_storage.exists(stray)
    assert default_storage.exists(fresh_stray)


def test_a_recent_download_is_kept(credentials):
    message = receive(image_payload("5491100000001", content=JPEG))
    with respx.mock(assert_all_called=False) as router:
        serve_media(router, JPEG)
        download_media(message_id=message.pk)

    pruned = media.prune_media_files()

    message.refresh_from_db()
    assert pruned == 0
    assert message.media_file.read() == JPEG
