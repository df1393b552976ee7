"""What buyers type, read into plain values: commands, greetings, numbers, quantities, yes/no.

Pure functions with no database and no Django: the state machine decides what a value means in
the current state. Matching is case- and accent-insensitive and knows English and Spanish.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field

__all__ = [
    "Command",
    "Mode",
    "NumbersParse",
    "is_board_request",
    "is_greeting",
    "normalize",
    "parse_command",
    "parse_index",
    "parse_mode",
    "parse_numbers",
    "parse_quantity",
    "parse_yes_no",
]


class Command(enum.StrEnum):
    """Global commands, understood in every state."""

    MENU = "menu"
    CANCEL = "cancel"
    HELP = "help"


class Mode(enum.StrEnum):
    """How the buyer wants their numbers chosen."""

    PICK = "pick"
    RANDOM = "random"


def normalize(text: str) -> str:
    """Lower case, no accents, single spaces, no punctuation around the words.

    "  ¡Menú! " and "MENU" both become "menu", so buyers never have to match our spelling.
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    no_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    lowered = no_accents.casefold()
    words = re.sub(r"\s+", " ", lowered).strip()
    return words.strip(" .,;:!?¡¿\"'()[]{}*_~")


_COMMANDS: dict[str, Command] = {
    **dict.fromkeys(
        ["menu", "main menu", "menu principal", "inicio", "volver", "back", "home"], Command.MENU
    ),
    **dict.fromkeys(
        [
            "cancel",
            "cancel order",
            "cancel my order",
            "cancelar",
            "cancela",
            "cancelar pedido",
            "cancelar orden",
            "anular",
        ],
        Command.CANCEL,
    ),
    **dict.fromkeys(["help", "ayuda", "?", "info", "opciones", "options"], Command.HELP),
}

_GREETINGS = frozenset(
    [
        "hi",
        "hello",
        "hey",
        "hi there",
        "good morning",
        "good afternoon",
        "good evening",
        "hola",
        "ola",
        "buenas",
        "buen dia",
        "buenos dias",
        "buenas tardes",
        "buenas noches",
        "start",
        "empezar",
        "comenzar",
        "menu",
    ]
)


def parse_command(text: str) -> Command | None:
    """The global command the whole message is, or None. "cancel 5" is not a command."""
    return _COMMANDS.get(normalize(text))


def is_greeting(text: str) -> bool:
    """Whether the message is just a greeting (it opens the menu)."""
    return normalize(text) in _GREETINGS


_BOARD_WORDS = frozenset(
    ["board", "the board", "see the board", "tabla", "la tabla", "ver la tabla", "tablero"]
)


def is_board_request(text: str) -> bool:
    """Whether the buyer asks for the board picture by typing ("see the board", "tabla")."""
    return normalize(text) in _BOARD_WORDS


_YES = frozenset(
    [
        "yes",
        "y",
        "yeah",
        "yep",
        "ok",
        "okay",
        "sure",
        "confirm",
        "confirmed",
        "si",
        "s",
        "claro",
        "dale",
        "confirmar",
        "confirmo",
        "de acuerdo",
        "vale",
    ]
)
_NO = frozenset(["no", "n", "nope", "nah", "no gracias", "no thanks"])


def parse_yes_no(text: str) -> bool | None:
    """True for yes/confirm, False for no, None for anything else."""
    word = normalize(text)
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None


_MODES: dict[str, Mode] = {
    **dict.fromkeys(
        [
            "pick",
            "pick my numbers",
            "pick numbers",
            "choose",
            "choose my numbers",
            "mine",
            "elegir",
            "elegir mis numeros",
            "escoger",
            "yo elijo",
        ],
        Mode.PICK,
    ),
    **dict.fromkeys(
        [
            "random",
            "random numbers",
            "randomly",
            "any",
            "surprise me",
            "aleatorio",
            "aleatorios",
            "numeros aleatorios",
            "numeros al azar",
            "al azar",
            "azar",
        ],
        Mode.RANDOM,
    ),
}


def parse_mode(text: str) -> Mode | None:
    """Pick or random, from the button title or a typed word."""
    return _MODES.get(normalize(text))


_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "un": 1,
    "uno": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
}
_QUANTITY = re.compile(
    r"^(?P<n>\d{1,7}|[a-z]+)(?: (?:tickets?|numbers?|numeros?|boletos?|boletas?|rifas?))?$"
)


def parse_quantity(text: str) -> int | None:
    """A how-many answer: "3", "03", "3 tickets", "tres". None when it is not one number."""
    match = _QUANTITY.match(normalize(text))
    if not match:
        return None
    raw = match["n"]
    if raw.isdigit():
        return int(raw)
    return _NUMBER_WORDS.get(raw)


def parse_index(text: str) -> int | None:
    """A bare positive integer ("2"), as typed to choose an option by its position."""
    word = normalize(text)
    return int(word) if word.isdigit() and len(word) <= 3 else None


@dataclass(frozen=True)
class NumbersParse:
    """The ticket numbers read from one message, in the order typed, without repeats.

    `junk` holds the pieces that are not numbers (reported back to the buyer), `duplicates` the
    numbers typed more than once, and `too_many` says the message asked for more than the limit
    (a range like 1-1000000), in which case `numbers` holds only the first `limit`.
    """

    numbers: list[int] = field(default_factory=list)
    junk: list[str] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    too_many: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.numbers) and not self.junk and not self.too_many


# Dashes of every width (hyphen, en dash, minus), with optional spaces, join a range.
_RANGE_JOIN = re.compile(r"\s*[-\u2010-\u2015\u2212]\s*(?=\d)")
_RANGE_WORD = re.compile(r"(?<=\d)\s+(?:to|a|al|hasta)\s+(?=\d)")
_SEPARATORS = re.compile(r"[\s,;/|+&]+|\b(?:and|y|e)\b")
_TOKEN_NUMBER = re.compile(r"^#?(\d{1,9})$")
_TOKEN_RANGE = re.compile(r"^#?(\d{1,9})-#?(\d{1,9})$")


def parse_numbers(text: str, *, limit: int = 1000) -> NumbersParse:
    """Read ticket numbers in any of the forms buyers use.

    `5, 12, 99`, `5 12 99`, one per line, `10-15`, `10 to 15`, `#7`, leading zeros (`007` is 7),
    mixed freely. At most `limit` numbers are expanded so a huge range cannot exhaust memory.
    """
    lowered = normalize(text).replace("\u2026", " ")
    joined = _RANGE_WORD.sub("-", _RANGE_JOIN.sub("-", lowered))
    # A dash right after a digit joined a range above; a leading dash ("-5") stays junk.
    tokens = [token for token in _SEPARATORS.split(joined) if token]
    numbers: list[int] = []
    seen: set[int] = set()
    junk: list[str] = []
    duplicates: list[int] = []
    too_many = False

    def add(number: int) -> bool:
        nonlocal too_many
        if number in seen:
            if number not in duplicates:
                duplicates.append(number)
            return True
        if len(numbers) >= limit:
            too_many = True
            return False
        seen.add(number)
        numbers.append(number)
        return True

    for token in tokens:
        if single := _TOKEN_NUMBER.match(token):
            add(int(single[1]))
            continue
        if span := _TOKEN_RANGE.match(token):
            low, high = sorted((int(span[1]), int(span[2])))
            if high - low + 1 > limit:
                too_many = True
                high = low + limit - 1
            for number in range(low, high + 1):
                if not add(number):
                    break
            continue
        junk.append(token)
    return NumbersParse(numbers=numbers, junk=junk, duplicates=duplicates, too_many=too_many)
