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
    "asks_for_person",
    "is_board_request",
    "is_greeting",
    "names_numbers",
    "normalize",
    "parse_command",
    "parse_index",
    "parse_mode",
    "parse_numbers",
    "parse_quantity",
    "parse_random_request",
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


# Asking for a person, in the words buyers use. Matched as whole words anywhere in the message.
_PERSON = re.compile(
    r"\b(?:asesor|asesora|asesoria|humano|humana|operador|operadora|agente|persona"
    r"|alguien|encargado|encargada|atencion al cliente|soporte"
    r"|human|operator|agent|person|someone|representative|support)\b"
)
# A message this long is a question or a story the bot cannot read; a person should.
LONG_MESSAGE_WORDS = 25


def asks_for_person(text: str) -> bool:
    """ "quiero hablar con alguien", "asesor", "humano", "operator", or a long question."""
    words = normalize(text)
    return bool(_PERSON.search(words)) or len(words.split()) >= LONG_MESSAGE_WORDS


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
# Words around a how-many that carry no meaning of their own: "quiero 3 numeros", "dame 2".
_ASKING = (
    r"(?:quiero|quisiera|dame|deme|me das|me da|necesito|compro"
    r"|i want|i'd like|id like|give me|i'll take|ill take)"
)
_PLEASE = r"(?: por favor| please)?"
_NOUN = r"(?:tickets?|numbers?|numeros?|boletos?|boletas?|rifas?|chances?)"
_AT_RANDOM = r"(?:al azar|aleatorios?|random|randomly|at random|cualquiera|cualesquiera)"
_QUANTITY = re.compile(
    rf"^(?:{_ASKING} )?(?P<n>\d{{1,7}}|[a-z]+)(?: {_NOUN})?(?: {_AT_RANDOM})?{_PLEASE}$"
)
_RANDOM_QUANTITY = re.compile(
    rf"^(?:{_ASKING} )?(?P<n>\d{{1,7}}|[a-z]+)"
    rf"(?: {_NOUN} {_AT_RANDOM}| {_AT_RANDOM}(?: {_NOUN})?){_PLEASE}$"
)


def _count(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else _NUMBER_WORDS.get(raw)


def parse_quantity(text: str) -> int | None:
    """A how-many answer: "3", "03", "3 tickets", "tres", "quiero 3 números", "dame 2 al azar".
    None when it is not one number."""
    match = _QUANTITY.match(normalize(text))
    return _count(match["n"]) if match else parse_random_request(text)


def parse_random_request(text: str) -> int | None:
    """How many random numbers a sentence asks for ("dame 2 al azar", "3 random numbers"), or
    None: without a word for "random" a count alone does not say how to choose."""
    match = _RANDOM_QUANTITY.match(normalize(text))
    return _count(match["n"]) if match else None


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
# Words a buyer puts around the numbers they pick ("el 7 y el 13", "los numeros 5 y 8"). They
# are skipped unless a count is followed by a noun ("quiero 3 numeros"): that is a how-many, and
# reading it as number 3 would reserve the wrong thing.
_FILLER = frozenset(
    [
        "el",
        "los",
        "la",
        "las",
        "del",
        "de",
        "quiero",
        "quisiera",
        "dame",
        "the",
        "number",
        "numbers",
        "numero",
        "numeros",
        "nro",
        "num",
    ]
)
_HOW_MANY = re.compile(rf"\d+ {_NOUN}\b")
_TOKEN_NUMBER = re.compile(r"^#?(\d{1,9})$")
_TOKEN_RANGE = re.compile(r"^#?(\d{1,9})-#?(\d{1,9})$")


def names_numbers(text: str) -> bool:
    """The sentence picks numbers in words ("el 7 y el 13", "quiero el 5"), so it can be read
    as a choice even where the bot asked something else."""
    words = normalize(text).split()
    return bool(words) and words[0] in _FILLER and parse_numbers(text).ok


def parse_numbers(text: str, *, limit: int = 1000) -> NumbersParse:
    """Read ticket numbers in any of the forms buyers use.

    `5, 12, 99`, `5 12 99`, one per line, `10-15`, `10 to 15`, `#7`, leading zeros (`007` is 7),
    mixed freely. At most `limit` numbers are expanded so a huge range cannot exhaust memory.
    """
    lowered = normalize(text).replace("\u2026", " ")
    joined = _RANGE_WORD.sub("-", _RANGE_JOIN.sub("-", lowered))
    # A dash right after a digit joined a range above; a leading dash ("-5") stays junk.
    tokens = [token for token in _SEPARATORS.split(joined) if token]
    if not _HOW_MANY.search(joined):
        tokens = [token for token in tokens if token not in _FILLER]
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
