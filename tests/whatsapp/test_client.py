"""The Graph client over real HTTP: typed results, and errors classified transient or permanent."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.support.fake_graph import FakeGraph
from whatsapp.client import GraphClient, PermanentGraphError, TransientGraphError
from whatsapp.outgoing import TextMessage, read_receipt_payload


@pytest.fixture
def graph():
    with FakeGraph() as fake:
        yield fake


@pytest.fixture
def client(graph):
    with GraphClient(
        base_url=graph.base_url,
        access_token=graph.access_token,
        phone_number_id=graph.phone_number_id,
        timeout=httpx.Timeout(0.5, connect=0.5),
    ) as c:
        yield c


def text(to: str = "5491100000001") -> dict:
    return TextMessage(body="hi").graph_payload(to)


def test_send_returns_metas_message_id_and_posts_with_bearer_token(graph, client):
    result = client.send(text())

    assert result.wa_message_id.startswith("wamid.")
    [request] = graph.requests
    assert request.method == "POST"
    assert request.path == f"/v23.0/{graph.phone_number_id}/messages"
    assert request.headers["Authorization"] == f"Bearer {graph.access_token}"
    assert request.json == text()


def test_read_receipt_succeeds_without_a_message_id(graph, client):
    result = client.send(read_receipt_payload("wamid.IN"))

    assert result.wa_message_id == ""
    assert result.raw == {"success": True}


@pytest.mark.parametrize(
    ("status", "code", "expected_code"),
    [
        (500, None, "131000"),
        (503, 131000, "131000"),
        (400, 130429, "130429"),
        (429, 130429, "130429"),
        (400, 131056, "131056"),
    ],
)
def test_server_errors_and_rate_limits_are_transient(graph, client, status, code, expected_code):
    graph.fail_next(1, status=status, code=code)

    with pytest.raises(TransientGraphError) as err:
        client.send(text())

    assert err.value.code == expected_code
    assert err.value.http_status == status


@pytest.mark.parametrize("code", [131047, 131026, 100])
def test_meta_client_errors_are_permanent(graph, client, code):
    graph.fail_next(1, status=400, code=code)

    with pytest.raises(PermanentGraphError) as err:
        client.send(text())

    assert err.value.code == str(code)
    assert not err.value.transient


def test_wrong_phone_number_id_is_permanent(graph):
    with (
        GraphClient(
            base_url=graph.base_url, access_token=graph.access_token, phone_number_id="999"
        ) as c,
        pytest.raises(PermanentGraphError) as err,
    ):
        c.send(text())

    assert err.value.code == "100"


def test_read_timeout_is_transient_and_flags_a_possible_duplicate(graph, client):
    graph.delay_next(1, seconds=1.5)

    with pytest.raises(TransientGraphError) as err:
        client.send(text())

    assert err.value.code == "timeout"
    assert err.value.may_have_been_sent
    # The fake did accept it: exactly the lost-response case.
    assert len(graph.sent()) == 1


def test_connection_refused_is_transient_and_safe_to_retry(graph, client):
    graph.stop()

    with pytest.raises(TransientGraphError) as err:
        client.send(text())

    assert err.value.code == "connect_error"
    assert not err.value.may_have_been_sent


def test_dropped_connection_is_transient(graph, client):
    graph.fail_next(1, drop=True)

    with pytest.raises(TransientGraphError) as err:
        client.send(text())

    assert err.value.may_have_been_sent


def test_the_fake_comes_back_on_the_same_port(graph, client):
    graph.stop()
    with pytest.raises(TransientGraphError):
        client.send(text())

    graph.start()

    assert client.send(text()).wa_message_id


def test_media_info_and_download_match_what_meta_describes(graph, client):
    content = b"\xff\xd8\xff\xe0" + b"jpeg" * 100
    media_id = graph.add_media(content, "image/jpeg")

    info = client.media_info(media_id)
    data = client.download(info.url, max_bytes=10_000)

    assert info.mime_type == "image/jpeg"
    assert info.file_size == len(content)
    assert info.sha256 == hashlib.sha256(content).hexdigest()
    assert data == content
    download = graph.requests[-1]
    assert download.headers["Authorization"] == f"Bearer {graph.access_token}"


def test_download_refuses_more_than_max_bytes(graph, client):
    media_id = graph.add_media(b"x" * 5000, "application/pdf")

    with pytest.raises(PermanentGraphError) as err:
        client.download(client.media_info(media_id).url, max_bytes=1000)

    assert err.value.code == "too_large"


def test_download_never_sends_the_token_to_another_host(graph, client):
    other = FakeGraph().start()  # a server that is not the Graph API the client was set up with
    try:
        with pytest.raises(TransientGraphError) as err:
            client.download(f"{other.origin}/media-download/1", max_bytes=1000)
        with pytest.raises(TransientGraphError):
            client.download("https://evil.example/x", max_bytes=1000)
    finally:
        other.stop()

    assert err.value.code == "media_host_not_allowed"
    assert other.requests == [] and graph.requests == []


def test_unknown_media_is_permanent(graph, client):
    with pytest.raises(PermanentGraphError):
        client.media_info("nope")


def test_media_errors_are_classified_too(graph, client):
    media_id = graph.add_media(b"x", "image/png")
    graph.fail_next(1, status=500, paths="/media")

    with pytest.raises(TransientGraphError):
        client.media_info(media_id)
