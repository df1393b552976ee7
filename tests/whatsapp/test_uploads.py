"""Uploading our own pictures to Meta once, and sending them by media id while the id lives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from model_bakery import baker

from whatsapp.client import GraphClient, GraphError
from whatsapp.models import Contact, OutboundKind, UploadedMedia
from whatsapp.outgoing import ImageMessage, OutgoingMessageInvalid
from whatsapp.rendering import render_payload
from whatsapp.services.delivery import deliver
from whatsapp.services.outbox import queue_message
from whatsapp.services.uploads import LOCAL_MEDIA_PREFIX, media_id_for

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n a board picture"


@pytest.fixture(autouse=True)
def quick(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.WHATSAPP_UPLOADED_MEDIA_DAYS = 30
    settings.WHATSAPP_RETRY_GIVE_UP_HOURS = 24
    settings.WHATSAPP_HTTP_TIMEOUT_SECONDS = 2


def upload(**kwargs) -> str:
    return media_id_for(content=PNG, mime_type="image/png", filename="board-1.png", **kwargs)


def test_the_client_uploads_multipart_with_messaging_product(fake_graph):
    with GraphClient.from_settings() as client:
        media_id = client.upload_media(PNG, mime_type="image/png", filename="board.png")

    [sent] = fake_graph.uploads()
    assert sent.media_id == media_id
    assert sent.content == PNG
    assert sent.mime_type == "image/png"
    assert sent.filename == "board.png"
    assert sent.fields["messaging_product"] == "whatsapp"
    [request] = [r for r in fake_graph.requests if r.path.endswith("/media")]
    assert request.path.endswith(f"/{fake_graph.phone_number_id}/media")
    assert request.headers["Content-Type"].startswith("multipart/form-data")


def test_the_same_picture_is_uploaded_once_while_its_id_is_valid(fake_graph):
    first = upload()

    again = upload(now=timezone.now() + timedelta(days=20))

    assert again == first
    assert len(fake_graph.uploads()) == 1
    stored = UploadedMedia.objects.get()
    assert (stored.media_id, stored.mime_type, stored.size) == (first, "image/png", len(PNG))


def test_an_expired_id_is_uploaded_again_and_replaced(fake_graph):
    first = upload()
    later = timezone.now() + timedelta(days=30, minutes=1)

    renewed = upload(now=later)

    assert renewed != first
    assert len(fake_graph.uploads()) == 2
    stored = UploadedMedia.objects.get()
    assert (stored.media_id, stored.uploaded_at) == (renewed, later)


def test_an_id_too_close_to_its_end_to_survive_outbox_retries_is_renewed(fake_graph):
    upload()

    # 29.5 days: alive, but a message carrying it may wait 24 hours in the outbox.
    upload(now=timezone.now() + timedelta(days=29, hours=12))

    assert len(fake_graph.uploads()) == 2


def test_a_different_picture_is_a_different_upload(fake_graph):
    first = upload()

    other = media_id_for(content=PNG + b"!", mime_type="image/png", filename="board-1.png")

    assert other != first
    assert UploadedMedia.objects.count() == 2


def test_a_failed_upload_raises_and_remembers_nothing(fake_graph):
    fake_graph.fail_next(1, status=500, paths="/media")

    with pytest.raises(GraphError):
        upload()

    assert not UploadedMedia.objects.exists()


def test_without_credentials_nothing_is_uploaded(settings):
    settings.WHATSAPP_ACCESS_TOKEN = ""

    media_id = upload()

    assert media_id.startswith(LOCAL_MEDIA_PREFIX)
    assert not UploadedMedia.objects.exists()


def test_an_image_message_is_sent_by_media_id_and_reads_as_its_caption(fake_graph):
    buyer = baker.make(Contact, wa_id="5491100000001")
    media_id = upload()

    row = deliver(
        outbound_id=queue_message(
            contact=buyer, message=ImageMessage(media_id=media_id, caption="The board")
        ).pk
    )

    assert row.kind == OutboundKind.IMAGE
    assert fake_graph.sent()[-1]["image"] == {"id": media_id, "caption": "The board"}
    assert fake_graph.sent()[-1]["type"] == "image"
    assert render_payload(row.payload) == ("[image] The board", [])


def test_an_image_needs_a_media_id():
    with pytest.raises(OutgoingMessageInvalid):
        ImageMessage(media_id="").graph_payload("5491100000001")
