"""Outgoing messages respect WhatsApp's limits before anything is stored or sent."""

from __future__ import annotations

import pytest

from whatsapp.outgoing import (
    Button,
    ButtonsMessage,
    ListMessage,
    ListRow,
    ListSection,
    OutgoingMessageInvalid,
    TextMessage,
    read_receipt_payload,
)


def rows(n: int, prefix: str = "r") -> list[ListRow]:
    return [ListRow(id=f"{prefix}{i}", title=f"Row {i}") for i in range(n)]


def test_text_payload_is_metas_shape():
    assert TextMessage(body="Hello").graph_payload("5491100000000") == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5491100000000",
        "type": "text",
        "text": {"preview_url": False, "body": "Hello"},
    }


@pytest.mark.parametrize("body", ["", "   ", "x" * 4097])
def test_text_body_must_be_present_and_at_most_4096(body):
    with pytest.raises(OutgoingMessageInvalid):
        TextMessage(body=body).validate()


def test_text_body_of_exactly_4096_is_fine():
    TextMessage(body="x" * 4096).validate()


def test_buttons_payload_is_metas_shape():
    message = ButtonsMessage(
        body="How many?", buttons=[Button("qty:1", "1"), Button("qty:2", "2")], footer="f"
    )

    payload = message.graph_payload("549")

    assert payload["type"] == "interactive"
    assert payload["interactive"] == {
        "type": "button",
        "body": {"text": "How many?"},
        "footer": {"text": "f"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "qty:1", "title": "1"}},
                {"type": "reply", "reply": {"id": "qty:2", "title": "2"}},
            ]
        },
    }


@pytest.mark.parametrize("count", [0, 4])
def test_buttons_must_number_one_to_three(count):
    buttons = [Button(f"b{i}", f"B{i}") for i in range(count)]

    with pytest.raises(OutgoingMessageInvalid, match="buttons"):
        ButtonsMessage(body="Pick", buttons=buttons).validate()


def test_button_title_over_20_characters_is_refused():
    with pytest.raises(OutgoingMessageInvalid, match="button title"):
        ButtonsMessage(body="Pick", buttons=[Button("a", "x" * 21)]).validate()


def test_button_title_of_20_characters_is_fine():
    ButtonsMessage(body="Pick", buttons=[Button("a", "x" * 20)]).validate()


def test_button_ids_must_be_unique():
    with pytest.raises(OutgoingMessageInvalid, match="unique"):
        ButtonsMessage(body="Pick", buttons=[Button("a", "One"), Button("a", "Two")]).validate()


def test_button_titles_must_be_unique():
    with pytest.raises(OutgoingMessageInvalid, match="unique"):
        ButtonsMessage(body="Pick", buttons=[Button("a", "Same"), Button("b", "Same")]).validate()


def test_buttons_body_over_1024_is_refused():
    with pytest.raises(OutgoingMessageInvalid, match="body"):
        ButtonsMessage(body="x" * 1025, buttons=[Button("a", "A")]).validate()


def test_list_payload_is_metas_shape():
    message = ListMessage(
        body="Choose a raffle",
        button="Raffles",
        sections=[
            ListSection(
                "Open", [ListRow("raffle:1", "Car", "Ticket $10"), ListRow("raffle:2", "TV")]
            )
        ],
    )

    interactive = message.graph_payload("549")["interactive"]

    assert interactive == {
        "type": "list",
        "body": {"text": "Choose a raffle"},
        "action": {
            "button": "Raffles",
            "sections": [
                {
                    "title": "Open",
                    "rows": [
                        {"id": "raffle:1", "title": "Car", "description": "Ticket $10"},
                        {"id": "raffle:2", "title": "TV"},
                    ],
                }
            ],
        },
    }


def test_list_allows_ten_rows_in_total_across_sections():
    ListMessage(
        body="b",
        button="Open",
        sections=[ListSection("A", rows(5, "a")), ListSection("B", rows(5, "b"))],
    ).validate()


def test_list_refuses_eleven_rows_across_sections():
    message = ListMessage(
        body="b",
        button="Open",
        sections=[ListSection("A", rows(6, "a")), ListSection("B", rows(5, "b"))],
    )

    with pytest.raises(OutgoingMessageInvalid, match="11 rows"):
        message.validate()


@pytest.mark.parametrize(
    "row",
    [ListRow("a", "x" * 25), ListRow("a", "ok", "d" * 73), ListRow("", "ok"), ListRow("a", "")],
    ids=["title>24", "description>72", "empty id", "empty title"],
)
def test_list_row_limits(row):
    with pytest.raises(OutgoingMessageInvalid):
        ListMessage(body="b", button="Open", sections=[ListSection("", [row])]).validate()


def test_list_row_of_exact_limits_is_fine():
    row = ListRow("a", "x" * 24, "d" * 72)
    ListMessage(body="b", button="Open", sections=[ListSection("", [row])]).validate()


def test_list_button_label_over_20_is_refused():
    with pytest.raises(OutgoingMessageInvalid, match="button label"):
        ListMessage(body="b", button="x" * 21, sections=[ListSection("", rows(1))]).validate()


def test_list_row_ids_must_be_unique_across_sections():
    message = ListMessage(
        body="b", button="Open", sections=[ListSection("A", rows(1)), ListSection("B", rows(1))]
    )

    with pytest.raises(OutgoingMessageInvalid, match="unique"):
        message.validate()


def test_several_sections_each_need_a_title():
    message = ListMessage(
        body="b",
        button="Open",
        sections=[ListSection("A", rows(1, "a")), ListSection("", rows(1, "b"))],
    )

    with pytest.raises(OutgoingMessageInvalid, match="title"):
        message.validate()


def test_section_title_over_24_is_refused():
    with pytest.raises(OutgoingMessageInvalid, match="section title"):
        ListMessage(body="b", button="Open", sections=[ListSection("x" * 25, rows(1))]).validate()


def test_list_needs_a_section_with_rows():
    with pytest.raises(OutgoingMessageInvalid):
        ListMessage(body="b", button="Open", sections=[]).validate()
    with pytest.raises(OutgoingMessageInvalid):
        ListMessage(body="b", button="Open", sections=[ListSection("A", [])]).validate()


def test_graph_payload_validates_first():
    with pytest.raises(OutgoingMessageInvalid):
        ButtonsMessage(body="Pick", buttons=[]).graph_payload("549")


def test_graph_payload_needs_a_recipient():
    with pytest.raises(OutgoingMessageInvalid, match="recipient"):
        TextMessage(body="hi").graph_payload("")


def test_messages_are_hashable_values():
    a = ButtonsMessage(body="Pick", buttons=[Button("a", "A")])
    b = ButtonsMessage(body="Pick", buttons=(Button("a", "A"),))

    assert a == b
    assert hash(a) == hash(b)


def test_invalid_message_is_a_value_error():
    assert issubclass(OutgoingMessageInvalid, ValueError)


def test_read_receipt_payload():
    assert read_receipt_payload("wamid.X") == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.X",
    }
