"""Admin login throttling behind a TLS proxy (django-axes): one client trying many usernames is
stopped, and nobody locks an operator out by sharing the proxy's address or by writing the
operator's address into X-Forwarded-For."""

from __future__ import annotations

import pytest
from django.urls import reverse

from project.environment import axes_client_address_settings

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # every request reaches Django from the TLS proxy
OPERATOR = "198.51.100.7"
ATTACKER = "203.0.113.9"
PASSWORD = "pass-word-1"


@pytest.fixture
def behind_one_proxy(settings):
    settings.AXES_FAILURE_LIMIT = 3
    for name, value in axes_client_address_settings(1).items():
        setattr(settings, name, value)
    return settings


def login(client, username: str, password: str, *, forwarded_for: str | None, peer: str = PROXY):
    """A login POST as it reaches Django; the proxy appends the address it saw."""
    headers = {"REMOTE_ADDR": peer}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    client.logout()
    return client.post(
        reverse("admin:login"), {"username": username, "password": password}, **headers
    )


def test_an_attackers_failures_never_lock_out_the_operator_behind_the_same_proxy(
    client, superuser, behind_one_proxy
):
    for _ in range(5):
        login(client, "boss", "guess", forwarded_for=ATTACKER)
    # Writing the operator's address in the header does not make them the operator.
    for _ in range(5):
        login(client, "boss", "guess", forwarded_for=f"{OPERATOR}, {ATTACKER}")

    operator = login(client, "boss", PASSWORD, forwarded_for=OPERATOR)
    attacker = login(client, "boss", PASSWORD, forwarded_for=ATTACKER)

    assert operator.status_code == 302
    assert attacker.status_code == 429  # locked: even the right password is refused


def test_one_client_trying_many_usernames_is_stopped(client, superuser, behind_one_proxy):
    for username in ("admin", "root", "operator"):
        login(client, username, "guess", forwarded_for=ATTACKER)

    refused = login(client, "boss", PASSWORD, forwarded_for=ATTACKER)
    elsewhere = login(client, "boss", PASSWORD, forwarded_for=OPERATOR)

    assert refused.status_code == 429
    assert elsewhere.status_code == 302


def test_without_a_trusted_proxy_the_header_is_ignored(client, superuser, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for name, value in axes_client_address_settings(0).items():
        setattr(settings, name, value)
    for n, username in enumerate(("admin", "root", "operator")):
        # A new made-up address each time does not buy more tries.
        login(client, username, "guess", forwarded_for=f"192.0.2.{n}", peer=ATTACKER)

    refused = login(client, "boss", PASSWORD, forwarded_for=OPERATOR, peer=ATTACKER)

    assert refused.status_code == 429


def test_n_proxies_leave_n_minus_one_listed_after_the_client():
    assert axes_client_address_settings(0)["AXES_IPWARE_META_PRECEDENCE_ORDER"] == ("REMOTE_ADDR",)
    assert axes_client_address_settings(2)["AXES_IPWARE_PROXY_COUNT"] == 1
