"""What buyers type is read the same way however they type it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversation.parsing import (
    Command,
    Mode,
    is_greeting,
    names_numbers,
    normalize,
    parse_command,
    parse_index,
    parse_mode,
    parse_numbers,
    parse_quantity,
    parse_random_request,
    parse_yes_no,
)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("MENU", Command.MENU),
        ("menu", Command.MENU),
        ("Menú", Command.MENU),
        (" menú! ", Command.MENU),
        ("CANCEL", Command.CANCEL),
        ("cancelar", Command.CANCEL),
        ("Cancelar.", Command.CANCEL),
        ("HELP", Command.HELP),
        ("Ayuda", Command.HELP),
        ("AYÚDA", Command.HELP),
    ],
)
def test_global_commands_ignore_case_accents_and_punctuation(text, command):
    assert parse_command(text) == command


@pytest.mark.parametrize("text", ["cancel 5", "menu please now", "helpful", "", "   "])
def test_a_command_must_be_the_whole_message(text):
    assert parse_command(text) is None


@pytest.mark.parametrize("text", ["hi", "Hola", "HOLA!", "hello", "menu", "Start", "buenos días"])
def test_greetings_are_recognised(text):
    assert is_greeting(text)


@pytest.mark.parametrize("text", ["hi 5", "7", "random", ""])
def test_other_text_is_not_a_greeting(text):
    assert not is_greeting(text)


def test_normalize_drops_accents_case_and_extra_spaces():
    assert normalize("  ¡Números   AL  Azar!  ") == "numeros al azar"


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("5, 12, 99", [5, 12, 99]),
        ("5 12 99", [5, 12, 99]),
        ("5\n12\n99", [5, 12, 99]),
        ("5,12,99", [5, 12, 99]),
        ("5; 12;99", [5, 12, 99]),
        ("10-15", [10, 11, 12, 13, 14, 15]),
        ("10 - 12", [10, 11, 12]),
        ("10\u201312", [10, 11, 12]),
        ("12-10", [10, 11, 12]),
        ("10 to 12", [10, 11, 12]),
        ("10 al 12", [10, 11, 12]),
        ("007, 010", [7, 10]),
        ("#7 #8", [7, 8]),
        ("5 and 6", [5, 6]),
        ("5 y 6", [5, 6]),
        ("1, 3-4\n 9", [1, 3, 4, 9]),
        ("0", [0]),
    ],
)
def test_numbers_in_every_form(text, numbers):
    parsed = parse_numbers(text)

    assert parsed.numbers == numbers
    assert parsed.junk == []
    assert parsed.ok


def test_repeated_numbers_are_counted_once_and_reported():
    parsed = parse_numbers("5, 5, 6, 4-6")

    assert parsed.numbers == [5, 6, 4]
    assert parsed.duplicates == [5, 6]


@pytest.mark.parametrize(
    ("text", "junk"),
    [
        ("5, abc, 7", ["abc"]),
        ("5.5", ["5.5"]),
        ("-3", ["-3"]),
        ("seven", ["seven"]),
        ("12x", ["12x"]),
    ],
)
def test_pieces_that_are_not_numbers_are_reported(text, junk):
    parsed = parse_numbers(text)

    assert parsed.junk == junk
    assert not parsed.ok


def test_an_empty_message_has_no_numbers():
    assert not parse_numbers("").ok
    assert parse_numbers("").numbers == []


def test_a_huge_range_is_capped_and_flagged():
    parsed = parse_numbers("1-1000000", limit=50)

    assert parsed.too_many
    assert len(parsed.numbers) == 50
    assert not parsed.ok


def test_many_single_numbers_beyond_the_limit_are_flagged():
    parsed = parse_numbers(" ".join(str(n) for n in range(20)), limit=10)

    assert parsed.too_many
    assert parsed.numbers == list(range(10))


@pytest.mark.parametrize(
    ("text", "qty"),
    [("3", 3), ("03", 3), ("3 tickets", 3), ("5 números", 5), ("tres", 3), ("two", 2)],
)
def test_quantities(text, qty):
    assert parse_quantity(text) == qty


@pytest.mark.parametrize("text", ["", "a few", "3 4", "-2", "2.5", "lots of tickets"])
def test_not_a_quantity(text):
    assert parse_quantity(text) is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [("yes", True), ("Sí", True), ("OK", True), ("confirm", True), ("no", False), ("N", False)],
)
def test_yes_and_no(text, answer):
    assert parse_yes_no(text) is answer


def test_anything_else_is_neither_yes_nor_no():
    assert parse_yes_no("maybe") is None


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("Pick my numbers", Mode.PICK),
        ("elegir", Mode.PICK),
        ("Random numbers", Mode.RANDOM),
        ("al azar", Mode.RANDOM),
        ("Aleatorio", Mode.RANDOM),
    ],
)
def test_modes(text, mode):
    assert parse_mode(text) == mode


def test_index_is_a_small_bare_integer():
    assert parse_index(" 2 ") == 2
    assert parse_index("2 tickets") is None
    assert parse_index("12345") is None


_separator = st.sampled_from([", ", ",", " ", "\n", "; ", " y ", " and "])


@st.composite
def typed_numbers(draw):
    """A set of numbers and one way a buyer might type it: padded, separated, some as ranges."""
    wanted = draw(st.lists(st.integers(0, 9999), min_size=1, max_size=30, unique=True))
    pieces = []
    for number in wanted:
        width = draw(st.integers(0, 5))
        as_range = draw(st.booleans())
        text = str(number).zfill(width)
        pieces.append(f"{text}-{text}" if as_range else text)
    body = ""
    for index, piece in enumerate(pieces):
        body += piece if index == 0 else draw(_separator) + piece
    return wanted, body


@given(typed_numbers())
def test_any_typed_list_of_numbers_reads_back_exactly(case):
    wanted, text = case

    parsed = parse_numbers(text)

    assert parsed.numbers == wanted
    assert parsed.ok


@given(st.text(max_size=200))
def test_parsing_never_fails_on_arbitrary_text(text):
    parsed = parse_numbers(text, limit=100)

    assert len(parsed.numbers) <= 100
    assert len(set(parsed.numbers)) == len(parsed.numbers)
    parse_command(text)
    parse_quantity(text)
    parse_yes_no(text)
    parse_mode(text)
    is_greeting(text)


@pytest.mark.parametrize(
    ("text", "qty"),
    [("quiero 3 números", 3), ("dame 2", 2), ("dame 2 al azar", 2), ("give me 4 tickets", 4)],
)
def test_a_how_many_said_in_a_sentence_is_a_quantity(text, qty):
    assert parse_quantity(text) == qty


@pytest.mark.parametrize(
    ("text", "qty"),
    [("dame 2 al azar", 2), ("quiero 3 numeros al azar", 3), ("2 random numbers", 2)],
)
def test_a_sentence_asking_for_random_numbers_says_how_many(text, qty):
    assert parse_random_request(text) == qty


@pytest.mark.parametrize("text", ["quiero 3 números", "3", "el 7 y el 13"])
def test_a_count_without_random_is_not_a_random_request(text):
    assert parse_random_request(text) is None


def test_numbers_named_with_articles_are_read():
    assert parse_numbers("el 7 y el 13").numbers == [7, 13]
    assert parse_numbers("los números 5 y 8").numbers == [5, 8]
    assert names_numbers("el 7 y el 13")


def test_a_how_many_is_not_read_as_a_number_to_pick():
    assert not parse_numbers("quiero 3 números").ok
