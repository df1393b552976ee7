"""The board picture in the chat: offered on small raffles' cards, sent as an image by media id
(uploaded once per version), followed by the question of how the buyer wants to pick."""

from __future__ import annotations

import pytest
from django.utils import translation

from conversation import replies
from conversation.board import request_board, send_board
from conversation.render import choices
from raffles import services
from raffles.models import TicketNumber
from tests.conversation.conftest import make_raffle
from tests.conversation.transcripts import run
from whatsapp.models import OutboundMessage, UploadedMedia
from whatsapp.services.uploads import LOCAL_MEDIA_PREFIX

IMMEDIATE_TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def draw_every_change(settings):
    settings.BOARD_MIN_RENDER_SECONDS = 0


@pytest.fixture
def graph(bot_settings):
    """The fake Graph API, answering for the phone number the chats write to."""
    from tests.conversation.conftest import PHONE_NUMBER_ID
    from tests.support.fake_graph import FakeGraph

    with FakeGraph(phone_number_id=PHONE_NUMBER_ID) as fake:
        bot_settings.WHATSAPP_GRAPH_URL = fake.base_url
        bot_settings.WHATSAPP_ACCESS_TOKEN = fake.access_token
        yield fake


def tap_board(chat) -> str:
    reply_id, title, is_row = chat.last_choices[2]
    assert reply_id.startswith("board:")
    return chat.tap(reply_id, title, is_row=is_row)


def images(wa_id: str = "5491100000001") -> list[dict]:
    rows = OutboundMessage.objects.filter(contact__wa_id=wa_id, kind="image").order_by("pk")
    return [row.payload["image"] for row in rows]


def test_the_card_of_a_small_raffle_offers_the_board_and_keeps_my_tickets_typable(raffle):
    card = replies.choose_mode(raffle=raffle, left=100, board=True)

    assert [c.title for c in choices(card)] == [
        "Pick my numbers",
        "Random numbers",
        "See the board",
    ]
    assert card.footer == "Your orders: write MY TICKETS"


def test_a_raffle_over_a_thousand_numbers_keeps_my_tickets_and_has_no_board(chat, bot_settings):
    make_raffle(min_number=0, max_number=1000)

    answer = chat.say("hi")

    assert "See the board" not in answer
    assert [c[1] for c in chat.last_choices][-1] == "My tickets"


def test_tapping_see_the_board_sends_the_picture_then_asks_how_to_pick(chat, raffle):
    run(
        chat,
        [
            ("hi", ["(3) See the board", "Your orders"], "CHOOSE_MODE"),
            ("#3", ["[image] *Big Car Raffle*", "100 numbers left", "Pick yours"], "CHOOSE_MODE"),
            ("#1", "Which numbers", "ASK_PICK_NUMBERS"),
        ],
    )

    [picture] = images()
    # No credentials in these tests: nothing is uploaded, the id shows what would be sent.
    assert picture["id"].startswith(LOCAL_MEDIA_PREFIX)
    texts = chat.outbox()
    assert texts.index(next(t for t in texts if t.startswith("[image]"))) == len(texts) - 3


def test_typing_three_or_the_word_on_the_card_shows_the_board(chat, raffle):
    run(
        chat,
        [
            ("hi", "See the board", "CHOOSE_MODE"),
            ("3", "[image]", "CHOOSE_MODE"),
            # After the board, the third button is "My tickets" again.
            ("3", "You have no orders yet", "CHOOSE_MODE"),
            ("tabla", "[image]", "CHOOSE_MODE"),
        ],
    )
    assert len(images()) == 2


def test_in_spanish_the_button_and_the_question_are_spanish(chat, raffle):
    with translation.override("es"):
        run(
            chat,
            [
                ("hola", ["Ver la tabla", "MIS BOLETOS"], "CHOOSE_MODE"),
                ("#3", ["los números blancos están libres", "Quedan 100 números"], "CHOOSE_MODE"),
            ],
        )


def test_the_board_is_uploaded_once_per_version_and_sent_by_its_media_id(
    chat, other_chat, raffle, graph
):
    chat.say("hi")
    tap_board(chat)
    other_chat.say("hi")
    tap_board(other_chat)

    assert len(graph.uploads()) == 1
    [upload] = graph.uploads()
    assert upload.mime_type == "image/png" and upload.content.startswith(b"\x89PNG")
    assert images()[0]["id"] == images("5491100000002")[0]["id"] == upload.media_id

    services.confirm_payment(
        order=services.submit_order(
            order=services.reserve_specific(raffle=raffle, numbers=[5], contact=chat.contact())
        )
    )
    chat.say("menu")
    tap_board(chat)

    assert len(graph.uploads()) == 2  # a sale made a new picture
    assert images()[-1]["id"] == graph.uploads()[-1].media_id
    assert UploadedMedia.objects.count() == 2


def test_when_the_upload_fails_the_buyer_still_gets_the_question(chat, raffle, graph):
    graph.fail_for(60, status=500)
    chat.say("hi")

    answer = tap_board(chat)

    assert images() == []
    assert "could not be sent" in answer and "Pick yours" in answer
    assert chat.state() == "CHOOSE_MODE"


def test_a_board_tap_on_a_closed_raffle_changes_nothing_and_says_so(chat, raffle):
    chat.say("hi")
    board_button = chat.last_choices[2]
    services.deactivate_raffle(raffle=raffle)

    answer = chat.tap(board_button[0], board_button[1], is_row=False)

    assert images() == []
    assert "not" in answer.lower()
    assert not TicketNumber.objects.filter(raffle=raffle).exclude(status="AVAILABLE").exists()


def test_the_request_runs_as_a_task_after_commit_with_json_arguments(
    raffle, bot_settings, django_capture_on_commit_callbacks
):
    from whatsapp.models import Contact

    bot_settings.TASKS = IMMEDIATE_TASKS
    contact = Contact.objects.create(wa_id="5491100000009")
    question = replies.after_board(raffle=raffle, left=100)

    with django_capture_on_commit_callbacks(execute=True):
        request_board(contact=contact, raffle_id=raffle.pk, then=question)

    rows = list(OutboundMessage.objects.filter(contact=contact).order_by("pk"))
    assert [row.kind for row in rows] == ["image", "buttons"]
    assert rows[1].payload == question.graph_payload(contact.wa_id)
    assert send_board.name.endswith("send_board")


def test_the_chat_command_shows_the_board_then_the_question(
    monkeypatch, bot_settings, transactional_db
):
    import io

    from django.core.management import call_command

    monkeypatch.setattr("sys.stdin", io.StringIO("hi\n3\n"))
    out = io.StringIO()

    call_command("chat", "--demo", stdout=out)

    output = out.getvalue()
    assert "(3) See the board" in output
    assert output.index("[image]") < output.index("Pick yours from the board")
