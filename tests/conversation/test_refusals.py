"""Every refusal of the raffles services reaches the buyer in catalogued wording, in their
language: never the service's own English message."""

from __future__ import annotations

import ast
import gettext
import inspect
import typing
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from conversation import replies
from conversation.inventory import RafflesInventory, Refused
from raffles import errors, services
from tests.conversation.conftest import make_raffle
from tests.conversation.machine_chat import MachineChat
from tests.conversation.transcripts import run


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


# Discovered, not listed: a new error without wording fails here.
RAFFLE_ERRORS = sorted({errors.RaffleError, *_all_subclasses(errors.RaffleError)}, key=str)

_SAMPLES = {"numbers": [3, 5], "status": "PAID", "target": "CANCELLED", "reason": "why"}


def _sample(error_class: type[errors.RaffleError]) -> errors.RaffleError:
    """An instance built from its constructor's signature, with plausible data."""
    hints = typing.get_type_hints(error_class.__init__)
    kwargs = {}
    for name, parameter in inspect.signature(error_class.__init__).parameters.items():
        if name == "self" or parameter.default is not inspect.Parameter.empty:
            continue
        if name in _SAMPLES:
            kwargs[name] = _SAMPLES[name]
        elif hints.get(name) is int:
            kwargs[name] = {"minimum": 1, "maximum": 10}.get(name, 7)
        elif hints.get(name) is Decimal:
            kwargs[name] = Decimal("10.00")
        else:
            kwargs[name] = f"{name}-value"
    return error_class(**kwargs)


def _worded(refusal: Refused, language: str) -> str:
    with translation.override(language):
        return replies.refused(code=refusal.code, extra=refusal.extra)


@pytest.mark.parametrize("error_class", RAFFLE_ERRORS, ids=lambda cls: cls.code)
def test_every_raffle_error_code_has_spanish_wording_for_the_buyer(error_class):
    error = _sample(error_class)

    refusal = Refused.from_error(error)
    english, spanish = _worded(refusal, "en"), _worded(refusal, "es")

    assert refusal.code in replies.REFUSALS, f"no wording for {refusal.code!r} in replies.py"
    assert spanish.strip(), refusal.code
    assert spanish != english, f"{refusal.code!r} is not translated: {spanish!r}"
    assert str(error) not in (english, spanish)  # the service's own text never reaches a buyer


def test_an_unknown_code_gets_a_polite_translated_sentence_not_the_error_text():
    with translation.override("es"):
        worded = replies.refused(code="something_new", extra={"detail": "Internal detail"})

        generic = replies.refused(code=errors.RaffleError.code)

    assert worded == generic
    assert "Internal detail" not in worded
    assert "MENU" in worded and "Lo siento" in worded


def test_wording_with_missing_data_falls_back_to_the_polite_sentence():
    with translation.override("es"):
        worded = replies.refused(code=errors.InvalidTransition.code, extra={})

    assert worded.startswith("Lo siento")


class OperatorFirstInventory(RafflesInventory):
    """The real inventory, where an operator confirms the payment just before the buyer's
    cancel lands (the race that makes the cancel service refuse)."""

    def __init__(self, calls: list[str]) -> None:
        super().__init__()

    def cancel(self, *, order):
        services.confirm_payment(order=type(order).objects.get(pk=order.pk))
        return super().cancel(order=order)


@pytest.mark.django_db
def test_a_spanish_buyer_is_told_a_refusal_in_spanish(bot_settings):
    make_raffle(title="Rifa del auto")
    chat = MachineChat()
    chat.inventory_class = OperatorFirstInventory
    with translation.override("es"):
        run(chat, [("hola", "", None), ("#2", "", None), ("1", "", None), ("#1", "", "WAIT_PROOF")])

        answer = chat.say("cancelar")

    order = chat.order()
    assert order.status == "PAID"
    assert f"El pedido #{order.pk} está pagado, así que eso ya no se puede hacer." in answer
    assert "cannot become" not in answer and "Sorry" not in answer


def _sentences_in_replies() -> set[str | tuple[str, int]]:
    """Every literal handed to gettext in conversation/replies.py, as the catalogue keys it:
    the text, or (singular, 0) for ngettext."""
    tree = ast.parse(Path(replies.__file__).read_text())
    found: set[str | tuple[str, int]] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        name = getattr(node.func, "id", "")
        if name == "_":
            found.add(first.value)
        elif name == "ngettext":
            found.add((first.value, 0))
    return found


def test_every_sentence_the_bot_says_is_in_the_compiled_spanish_catalogue():
    compiled = Path(replies.__file__).parent / "locale/es/LC_MESSAGES/django.mo"
    with compiled.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]

    sentences = _sentences_in_replies()

    assert len(sentences) > 100
    assert sorted(map(str, sentences - set(catalogue))) == []
