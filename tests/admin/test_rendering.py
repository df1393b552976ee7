"""Every admin screen renders for an operator: changelists, change pages, add pages."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse
from model_bakery import baker

from raffles import services
from tests.admin.conftest import make_buyer, pending_order_with_proof
from whatsapp.models import InboundMessage, OutboundMessage, WebhookCapture

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(raffle):
    """One row of every model the admin shows, made through the services where they exist."""
    order = pending_order_with_proof(raffle, make_buyer(1), [1, 2])
    services.confirm_payment(order=order)
    baker.make(InboundMessage, contact=order.contact, msg_type="text", text="hola", raw={"a": 1})
    baker.make(OutboundMessage, contact=order.contact, payload={"type": "text"})
    baker.make(WebhookCapture, body=b'{"object": "whatsapp_business_account"}', headers={})
    return order


def registered_models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_every_changelist_and_change_page_renders(client, superuser, data, model):
    client.force_login(superuser)
    opts = model._meta
    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    instance = model._default_manager.first()

    assert changelist.status_code == 200
    if instance is not None:
        change = client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[instance.pk])
        )
        assert change.status_code == 200
    if admin.site._registry[model].has_add_permission(_request(superuser)):
        add = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert add.status_code == 200


def test_the_landing_page_renders_with_the_dashboard(client, superuser, data):
    client.force_login(superuser)

    html = client.get(reverse("admin:index")).content.decode()

    assert 'id="proofs-waiting"' in html
    assert 'id="sales-today"' in html
    assert "Spring raffle" in html  # today's sales name the raffle


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request
