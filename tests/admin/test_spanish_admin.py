"""With LANGUAGE_CODE=es the whole admin is Spanish: our names, labels, statuses and messages."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from project.labels import OUR_APPS, derived_labels

# Words that are the same in both languages.
SAME_IN_SPANISH = {"ID", "Audio", "Video", "Sticker", "Total", "error", "webhook-id", "← bot"}


@pytest.mark.parametrize("app_label", OUR_APPS)
def test_every_model_field_and_choice_label_has_its_spanish(app_label):
    english = derived_labels(app_label, unique=False)

    with translation.override("es"):
        spanish = derived_labels(app_label, unique=False)

    untranslated = [
        en
        for en, es in zip(english, spanish, strict=True)
        if en == es and en not in SAME_IN_SPANISH
    ]
    assert untranslated == []


@pytest.fixture
def spanish_admin(settings, client, superuser):
    settings.LANGUAGE_CODE = "es"
    client.force_login(superuser)
    return client


def test_the_raffle_list_and_form_speak_spanish(spanish_admin, raffle):
    listing = spanish_admin.get(reverse("admin:raffles_raffle_changelist")).content.decode()
    form = spanish_admin.get(reverse("admin:raffles_raffle_change", args=[raffle.pk]))
    form = form.content.decode()

    assert "Seleccione rifa a modificar" in listing
    assert "Activar (abrir ventas)" in listing
    assert "Precio del número" in form and "Minutos que tiene el comprador para pagar" in form
    for english in ("Ticket price", "Reservation ttl minutes", "Price and numbers", "Orders of"):
        assert english not in form


def test_the_order_list_shows_spanish_statuses_filters_and_money(spanish_admin, raffle):
    from tests.admin.conftest import make_buyer, pending_order_with_proof

    pending_order_with_proof(raffle, make_buyer(1, "Ana"), [5])

    page = spanish_admin.get(reverse("admin:raffles_order_changelist")).content.decode()

    assert "Pago pendiente" in page and "Comprobante por revisar" in page
    assert "Pending payment" not in page and "Has a proof" not in page


def test_the_landing_page_speaks_spanish(spanish_admin):
    page = spanish_admin.get(reverse("admin:index")).content.decode()

    assert "Lo que necesita tu atención" in page
    assert "Primeros pasos" in page  # no raffle yet: how to start
    assert "What needs you now" not in page


def test_the_landing_page_says_money_the_spanish_way(spanish_admin, raffle):
    from tests.admin.conftest import make_buyer, pending_order_with_proof

    pending_order_with_proof(raffle, make_buyer(1, "Ana"), list(range(10)))

    page = spanish_admin.get(reverse("admin:index")).content.decode()

    assert "50,00 USD" in page
