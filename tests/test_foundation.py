"""The foundation: settings safety, SQLite tuning, the health probe, the docs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import ConnectionHandler

from project.environment import (
    PLACEHOLDER,
    assert_production_secrets,
    local_secret_key,
    sqlite_options,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_reports_the_database(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": connection.vendor}


def _sqlite_connection(tmp_path: Path) -> BaseDatabaseWrapper:
    """The project's SQLite connection: the test database itself when the suite runs on SQLite,
    otherwise one opened with the same settings on a scratch file."""
    if connection.vendor == "sqlite":
        return connection
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "project.sqlite",
                "NAME": str(tmp_path / "scratch.sqlite3"),
                "OPTIONS": sqlite_options(),
            }
        }
    )
    return handler["default"]


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_immediate_transactions(tmp_path):
    sqlite = _sqlite_connection(tmp_path)

    with sqlite.cursor() as cursor:
        journal_mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
        busy_timeout = cursor.execute("PRAGMA busy_timeout").fetchone()[0]

    assert journal_mode == "wal"
    assert synchronous == 1  # NORMAL
    assert busy_timeout >= 5000
    assert sqlite.transaction_mode == "IMMEDIATE"
    assert not sqlite.is_in_memory_db()


def test_production_refuses_missing_and_placeholder_secrets_naming_all_of_them():
    with pytest.raises(ImproperlyConfigured) as err:
        assert_production_secrets(
            required={"SECRET_KEY": "", "WHATSAPP_APP_SECRET": PLACEHOLDER},
            not_placeholder={
                "DJANGO_SUPERUSER_PASSWORD": PLACEHOLDER,
                "WHATSAPP_VERIFY_TOKEN": f" {PLACEHOLDER} ",
            },
        )

    for name in ("SECRET_KEY", "WHATSAPP_APP_SECRET", "DJANGO_SUPERUSER_PASSWORD"):
        assert name in str(err.value)
    assert "WHATSAPP_VERIFY_TOKEN" in str(err.value)


def test_production_accepts_real_secrets_and_leaves_optional_ones_empty():
    assert_production_secrets(
        required={"SECRET_KEY": "x" * 50, "WHATSAPP_APP_SECRET": "s3cret"},
        not_placeholder={"DJANGO_SUPERUSER_PASSWORD": "", "WHATSAPP_VERIFY_TOKEN": ""},
    )  # no exception


def test_local_secret_key_is_generated_once_and_kept(tmp_path):
    key_file = tmp_path / ".secret_key"

    first = local_secret_key(key_file)
    second = local_secret_key(key_file)

    assert len(first) >= 50
    assert first == second


def _run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "ENV_FILE": "/nonexistent", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_process_with_debug_off_and_placeholder_secrets_refuses_to_start():
    result = _run_manage(
        "check",
        env={"DEBUG": "false", "SECRET_KEY": PLACEHOLDER, "WHATSAPP_APP_SECRET": ""},
    )

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "WHATSAPP_APP_SECRET" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = _run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DEBUG": "false",
            "SECRET_KEY": "k" * 64 + "-production-secret-key-with-enough-entropy",
            "WHATSAPP_APP_SECRET": "app-secret",
            "WHATSAPP_ACCESS_TOKEN": "token",
            "WHATSAPP_PHONE_NUMBER_ID": "123",
            "ALLOWED_HOSTS": "raffles.example.com",
        },
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_healthz_is_exempt_from_the_ssl_redirect(settings, client, db):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/admin/login/").status_code == 301


@pytest.mark.django_db
def test_api_docs_and_spec_are_served(client):
    assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.")
    assert client.get("/api/v1/docs").status_code == 200


# --- safe defaults without a .env file ---------------------------------------------------------
_PRINT_SETTINGS = (
    "from django.conf import settings; "
    "print(settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE)"
)


def _settings_in(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run_manage("shell", "-v", "0", "-c", _PRINT_SETTINGS, env=env)


def test_with_nothing_configured_the_local_mode_has_debug_on():
    result = _settings_in({})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "False"]


def test_a_secret_key_in_the_environment_alone_means_production_debug_off_https_on():
    result = _settings_in(
        {"SECRET_KEY": "k" * 60, "WHATSAPP_APP_SECRET": "s3cret", "ALLOWED_HOSTS": "example.com"}
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True"]


def test_a_secret_key_in_a_dotenv_file_means_debug_off_too(tmp_path):
    env_file = tmp_path / "prod.env"
    env_file.write_text(f"SECRET_KEY={'k' * 60}\nWHATSAPP_APP_SECRET=s3cret\n")

    result = _run_manage("shell", "-v", "0", "-c", _PRINT_SETTINGS, env={"ENV_FILE": str(env_file)})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


def test_debug_on_needs_debug_true_once_a_secret_key_is_set():
    result = _settings_in({"SECRET_KEY": "k" * 60, "DEBUG": "true"})

    assert result.stdout.split()[0] == "True"


def test_production_with_a_secret_key_but_no_app_secret_refuses_to_start():
    result = _settings_in({"SECRET_KEY": "k" * 60})

    assert result.returncode != 0
    assert "WHATSAPP_APP_SECRET" in result.stderr


def test_production_refuses_the_example_superuser_password_and_verify_token():
    result = _settings_in(
        {
            "SECRET_KEY": "k" * 60,
            "WHATSAPP_APP_SECRET": "s3cret",
            "DJANGO_SUPERUSER_PASSWORD": PLACEHOLDER,
            "WHATSAPP_VERIFY_TOKEN": PLACEHOLDER,
        }
    )

    assert result.returncode != 0
    assert "DJANGO_SUPERUSER_PASSWORD" in result.stderr
    assert "WHATSAPP_VERIFY_TOKEN" in result.stderr
    assert "SECRET_KEY" not in result.stderr.split("placeholder:")[-1]


# --- passwords -----------------------------------------------------------------------------------
@pytest.mark.parametrize("weak", ["12345678901", "password123", "short", "qwertyuiop"])
def test_operators_passwords_go_through_djangos_validators(weak, django_user_model, db):
    from django.contrib.auth.forms import SetPasswordForm

    user = django_user_model.objects.create_user("boss", password="a-long-good-passphrase")

    form = SetPasswordForm(user, {"new_password1": weak, "new_password2": weak})

    assert not form.is_valid()


def test_serve_refuses_a_weak_superuser_password_from_the_environment(db, monkeypatch):
    from django.contrib.auth import get_user_model
    from django.core.management.base import CommandError

    from project.management.commands.serve import Command

    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "admin123")

    with pytest.raises(CommandError, match="too weak"):
        Command()._ensure_superuser()

    assert not get_user_model().objects.exists()


def test_serve_generates_and_shows_a_password_when_the_variable_is_empty(db, monkeypatch):
    from io import StringIO

    from django.contrib.auth import get_user_model

    from project.management.commands.serve import Command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "")
    command = Command(stdout=StringIO())

    command._ensure_superuser()

    shown = command.stdout._out.getvalue()
    password = shown.split("with password ")[1].split("'")[1]
    assert get_user_model().objects.get().check_password(password)


# --- the health probe ---------------------------------------------------------------------
def test_healthz_says_the_database_is_unavailable_without_the_drivers_words(
    client, monkeypatch, caplog
):
    from django.db import OperationalError
    from django.db.backends.base.base import BaseDatabaseWrapper

    def refuse(self, *args, **kwargs):
        raise OperationalError('connection to server at "db.internal" failed for user "raffles"')

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", refuse)
    monkeypatch.setattr("project.health._outage.down_since", None)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}
    assert "db.internal" in caplog.text
