"""Token authentication for the internal API: one token store (DRF authtoken), staff only.

Each n8n integration gets a token for a staff user (`manage.py drf_create_token USER`, or the
admin); the user's model permissions decide what the token may do. The Ninja API accepts
`Authorization: Bearer <key>` and `Authorization: Token <key>` (what DRF clients send).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import HttpBearer
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

SCHEMES = ("bearer", "token")


def key_from_header(value: str | None) -> str | None:
    """The token key in an `Authorization` header value, or None when absent or malformed."""
    if not value:
        return None
    scheme, _, key = value.strip().partition(" ")
    key = key.strip()
    if scheme.lower() not in SCHEMES or not key or " " in key:
        return None
    return key


def user_for_key(key: str | None) -> AbstractBaseUser | None:
    """The active user owning the token, or None."""
    if not key or len(key) > 40:
        return None
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


def user_for_request(request: HttpRequest) -> AbstractBaseUser | None:
    return user_for_key(key_from_header(request.headers.get("Authorization")))


class StaffToken(HttpBearer):
    """`Authorization: Bearer <key>` or `Token <key>`; the token's user must be active staff."""

    openapi_description = (
        "A DRF authtoken key of a staff user: `Authorization: Bearer <key>` "
        "(`Authorization: Token <key>` is accepted too)."
    )

    def __call__(self, request: HttpRequest) -> Any:
        key = key_from_header(request.headers.get("Authorization"))
        if key is None:
            return None
        return self.authenticate(request, key)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_key(token)
        if user is None:
            raise AuthenticationError(message="Invalid or missing token.")
        if not user.is_staff:
            raise AuthorizationError(message="Only staff users may use the API.")
        return user


staff_token = StaffToken()


def require_perm(request: HttpRequest, *perms: str) -> None:
    """Raise 403 (error body `permission_denied`, with the missing permissions) unless the
    token's user holds every one of `perms` ("raffles.confirm_payment")."""
    user = request.auth  # type: ignore[attr-defined]
    missing = [perm for perm in perms if not user.has_perm(perm)]
    if missing:
        exc = AuthorizationError(message="This token's user lacks a required permission.")
        exc.extra = {"missing_permissions": missing}  # type: ignore[attr-defined]
        raise exc


class DrfStaffToken(TokenAuthentication):
    """The DRF layer's authentication: the same header forms as the Ninja API (`Bearer <key>`,
    which the README tells n8n users to send, or DRF's own `Token <key>`), the same tokens."""

    def authenticate(self, request: Any) -> tuple[AbstractBaseUser, Token] | None:
        header = request.headers.get("Authorization")
        if not header:
            return None
        key = key_from_header(header)
        user = user_for_key(key)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or missing token.")
        return user, Token(key=key, user=user)

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
