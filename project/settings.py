"""Django settings for Raffle Backoffice, read from the environment (see `.env.example`).

With no configuration at all (no `.env`, no SECRET_KEY in the environment) the project runs in
local mode: DEBUG on, a generated secret key kept in a git-ignored file, a SQLite database in the
project folder. As soon as a SECRET_KEY is configured anywhere DEBUG is off unless `DEBUG=true`,
and the process refuses to start while a required secret is missing or still the placeholder
from `.env.example`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import environ

from project.environment import (
    assert_production_secrets,
    axes_client_address_settings,
    local_secret_key,
    postgresql_options,
    sqlite_options,
)

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = Path(os.environ.get("ENV_FILE", BASE_DIR / ".env"))
if _env_file.is_file():
    environ.Env.read_env(_env_file)
TESTING = "pytest" in sys.modules or os.environ.get("RAFFLE_TESTING") == "1"

# Local mode is "nothing configured": no SECRET_KEY in the environment or in `.env`. A deployment
# that sets its variables in the environment only, and forgets DEBUG, runs with DEBUG off.
LOCAL_MODE = not env.str("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=LOCAL_MODE)

# --- Secrets -----------------------------------------------------------------------------------
SECRET_KEY = env.str("SECRET_KEY", default="") or (
    local_secret_key(BASE_DIR / ".secret_key") if DEBUG else ""
)
WHATSAPP_APP_SECRET = env.str("WHATSAPP_APP_SECRET", default="")
WHATSAPP_VERIFY_TOKEN = env.str("WHATSAPP_VERIFY_TOKEN", default="")
if not DEBUG:
    assert_production_secrets(
        required={"SECRET_KEY": SECRET_KEY, "WHATSAPP_APP_SECRET": WHATSAPP_APP_SECRET},
        # May be left empty (serve then generates the password; the webhook refuses to verify),
        # but never the value everybody can read in .env.example.
        not_placeholder={
            "DJANGO_SUPERUSER_PASSWORD": env.str("DJANGO_SUPERUSER_PASSWORD", default=""),
            "WHATSAPP_VERIFY_TOKEN": WHATSAPP_VERIFY_TOKEN,
        },
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
if TESTING:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "jazzmin",
    "project.admin_site.BackofficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "ninja",
    "django_tasks_db",
    "axes",
    "project",
    "whatsapp",
    "raffles",
    "conversation",
    "events",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks, so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "project.urls"
# Operators sign in to the back office; there is no other site to land on.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Kept per thread on both databases (on SQLite, opening one runs a handful of PRAGMAs).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend plus a queue for writers on a lock file (project/sqlite/base.py). It
    # earns its keep only where SQLite serves production traffic: web workers, the task worker
    # and periodic jobs writing at once. With one writer it costs a lock file and nothing else;
    # on PostgreSQL none of it is loaded.
    DATABASES["default"]["ENGINE"] = "project.sqlite"
    DATABASES["default"]["OPTIONS"] = sqlite_options()
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A failover can drop packets instead of refusing them: without these a process waits on a
    # dead connection for the kernel's default (over two hours). Values in the URL win.
    DATABASES["default"]["OPTIONS"] = postgresql_options(
        DATABASES["default"].get("OPTIONS", {}),
        connect_timeout=env.int("DATABASE_CONNECT_TIMEOUT", default=5),
        keepalives_idle=env.int("DATABASE_KEEPALIVES_IDLE", default=10),
        statement_timeout_ms=env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=60_000),
    )
# Longest wait between two attempts to reach a database that went away (worker, periodic jobs,
# serve at startup): they resume at most this long after its return.
DATABASE_RETRY_MAX_SECONDS = env.float("DATABASE_RETRY_MAX_SECONDS", default=5.0)
# The task worker's heartbeat (`/healthz?detail=1`): how often it beats, and the age after
# which it shows as stale. Periodic commands are stale after twice their interval plus the grace.
HEARTBEAT_SECONDS = env.float("HEARTBEAT_SECONDS", default=10.0)
HEARTBEAT_STALE_SECONDS = env.float("HEARTBEAT_STALE_SECONDS", default=60.0)
HEARTBEAT_GRACE_SECONDS = env.float("HEARTBEAT_GRACE_SECONDS", default=120.0)
# Each test run gets its own database: a file for SQLite (so tests can open real concurrent
# connections), a uniquely named one on PostgreSQL (so parallel runs never share one).
_test_db = os.environ.get("TEST_DATABASE_NAME")
if _test_db:
    DATABASES["default"]["TEST"] = {"NAME": _test_db}
elif DATABASES["default"]["ENGINE"] == "project.sqlite":
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_raffle_{os.getpid()}"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Operators' passwords (admin forms, `changepassword`) go through Django's validators.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation and time -------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Payment proofs carry buyers' bank details: they live outside any public URL and are served
# only through a permission-checking view.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=BASE_DIR / "private_media")
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}
# Meta batches up to 1,000 updates in one webhook POST: bodies reach 3 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024 + 64 * 1024

# --- Security (on by default when DEBUG is off) ------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# A load balancer probes /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# Failed admin logins are throttled (django-axes) per username at an address, and per address
# whatever the username (one client trying many usernames). Never per username alone: that would
# let anyone lock an operator out from anywhere.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# Proxies in front of Django (a TLS proxy is 1). The address is then the one the outermost of
# them saw, taken from the right of X-Forwarded-For, so a client can neither pick an address by
# sending the header nor share the proxy's own address with everybody else (a lockout of that
# address would lock every operator out). 0: the peer address, headers ignored.
TRUSTED_PROXY_COUNT = env.int(
    "TRUSTED_PROXY_COUNT", default=1 if env.bool("USE_X_FORWARDED_PROTO", default=False) else 0
)
_axes_address = axes_client_address_settings(TRUSTED_PROXY_COUNT)
AXES_IPWARE_META_PRECEDENCE_ORDER = _axes_address["AXES_IPWARE_META_PRECEDENCE_ORDER"]
AXES_IPWARE_PROXY_COUNT = _axes_address["AXES_IPWARE_PROXY_COUNT"]
# Extra entries a client prepends are allowed and ignored (strict would reject the whole header
# and fall back to the proxy's address).
IPWARE_STRICT = False

# --- Background tasks --------------------------------------------------------------------------
# Outbound messages are queued rows; a task enqueued on commit is the fast path and a periodic
# sweeper re-drives anything due, so a task lost with a killed worker loses no message.
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Periodic housekeeping that `manage.py serve` (and `run_periodic`) runs: (command, seconds).
PERIODIC_COMMANDS: list[tuple[str, int]] = []

# --- WhatsApp Cloud API ------------------------------------------------------------------------
WHATSAPP_ACCESS_TOKEN = env.str("WHATSAPP_ACCESS_TOKEN", default="")
WHATSAPP_PHONE_NUMBER_ID = env.str("WHATSAPP_PHONE_NUMBER_ID", default="")
WHATSAPP_GRAPH_URL = env.str("WHATSAPP_GRAPH_URL", default="https://graph.facebook.com/v23.0")
# The WhatsApp Business Account (WABA) whose message templates `sync_message_templates` reads.
WHATSAPP_BUSINESS_ACCOUNT_ID = env.str("WHATSAPP_BUSINESS_ACCOUNT_ID", default="")
# Notices sent outside the 24-hour window go as these approved templates: the template name
# (the same name in every language, as WhatsApp Manager creates them) and the notice values
# for {{1}}, {{2}}... in order. Rows under "Notice templates" in the admin override a kind
# (per language). `buyer_name` is the contact's WhatsApp profile name.
WHATSAPP_NOTICE_TEMPLATES: dict[str, dict[str, object]] = {
    "payment_confirmed": {
        "template": "payment_confirmed",
        "parameters": ["buyer_name", "order", "raffle", "numbers"],
    },
    "proof_rejected": {
        "template": "proof_rejected",
        "parameters": ["buyer_name", "order", "reason"],
    },
    "order_cancelled": {
        "template": "order_cancelled",
        "parameters": ["buyer_name", "order", "reason"],
    },
    "reservation_expired": {
        "template": "reservation_expired",
        "parameters": ["buyer_name", "raffle"],
    },
    "payment_reminder": {
        "template": "payment_reminder",
        "parameters": ["buyer_name", "order", "raffle", "total", "deadline"],
    },
    "draw_result": {
        "template": "draw_result",
        "parameters": ["buyer_name", "raffle", "winning_number"],
    },
    "winner": {
        "template": "winner",
        "parameters": ["buyer_name", "raffle", "winning_number", "prize"],
    },
}
# The largest proof file downloaded from a buyer.
WHATSAPP_MEDIA_MAX_BYTES = env.int("WHATSAPP_MEDIA_MAX_BYTES", default=10 * 1024 * 1024)
# The only hosts the access token is sent to when downloading media, over https: Meta's Graph
# API and its media CDN. The host of WHATSAPP_GRAPH_URL is always allowed too (a fake server).
WHATSAPP_MEDIA_HOSTS = env.list(
    "WHATSAPP_MEDIA_HOSTS", default=["graph.facebook.com", "lookaside.fbsbx.com"]
)
# Attempts after which a media download is given up (each periodic retry makes up to three);
# the buyer is then told the file could not be fetched.
WHATSAPP_MEDIA_MAX_ATTEMPTS = env.int("WHATSAPP_MEDIA_MAX_ATTEMPTS", default=9)
# Days Meta keeps a media file we uploaded (the board picture) usable by its id; it is uploaded
# again once that has passed.
WHATSAPP_UPLOADED_MEDIA_DAYS = env.float("WHATSAPP_UPLOADED_MEDIA_DAYS", default=30.0)
# Hours a downloaded file nobody took (no payment proof) is kept before housekeeping deletes it.
WHATSAPP_MEDIA_UNCLAIMED_HOURS = env.int("WHATSAPP_MEDIA_UNCLAIMED_HOURS", default=24)
PERIODIC_COMMANDS.append(("prune_webhook_captures", 24 * 3600))
# Proof downloads that failed (say, while the Graph API was down) are re-driven.
PERIODIC_COMMANDS.append(("retry_inbound --media", 300))
WEBHOOK_CAPTURE_RETENTION_DAYS = env.int("WEBHOOK_CAPTURE_RETENTION_DAYS", default=30)

# --- WhatsApp outbound delivery -----------------------------------------------------------
# The read timeout must stay well under the lease: a row whose lease expires mid-send is taken
# over by the sweeper and may be sent twice.
WHATSAPP_HTTP_TIMEOUT_SECONDS = env.float("WHATSAPP_HTTP_TIMEOUT_SECONDS", default=15.0)
WHATSAPP_CONNECT_TIMEOUT_SECONDS = env.float("WHATSAPP_CONNECT_TIMEOUT_SECONDS", default=5.0)
# Sender threads per sweeper pass (Meta allows ~80 messages/s per number by default).
WHATSAPP_SEND_CONCURRENCY = env.int("WHATSAPP_SEND_CONCURRENCY", default=4)
WHATSAPP_SEND_LEASE_SECONDS = env.int("WHATSAPP_SEND_LEASE_SECONDS", default=60)
WHATSAPP_RETRY_BASE_SECONDS = env.float("WHATSAPP_RETRY_BASE_SECONDS", default=5.0)
WHATSAPP_RETRY_MAX_SECONDS = env.float("WHATSAPP_RETRY_MAX_SECONDS", default=900.0)
# Past the 24-hour customer-service window a free-form reply is refused anyway (131047).
WHATSAPP_RETRY_GIVE_UP_HOURS = env.float("WHATSAPP_RETRY_GIVE_UP_HOURS", default=24.0)
# Longest a task worker spends sending one broadcast; the sweeper sends whatever is left.
WHATSAPP_DRAIN_SECONDS = env.float("WHATSAPP_DRAIN_SECONDS", default=600.0)
PERIODIC_COMMANDS.append(("send_due_messages", 5))
# The delivery dispatcher (`manage.py deliver_outbox`, started by `serve`): woken the moment a
# reply commits (LISTEN/NOTIFY on PostgreSQL, a Unix socket on SQLite), it sends on a pool of
# threads over one long-lived client. Sending is waiting on Meta, not CPU (a thread opens no
# database connection unless a send fails: accepted sends are booked by one thread in groups):
# 24 threads per core keep ~300 calls of 150 ms a second in flight on 2 cores.
WHATSAPP_DELIVERY_THREADS = env.int("WHATSAPP_DELIVERY_THREADS", default=24 * (os.cpu_count() or 1))
# A safety net under the wake-up (a lost notification, a retry coming due); the sweeper above
# is the net under the dispatcher itself.
WHATSAPP_DELIVERY_POLL_SECONDS = env.float("WHATSAPP_DELIVERY_POLL_SECONDS", default=2.0)
# Meta's cap per business number, sent and received messages together: 80 by default, up to
# 1,000 once the number is upgraded. Kept across every process and host (whatsapp.SendingPace).
WHATSAPP_MESSAGES_PER_SECOND = env.int("WHATSAPP_MESSAGES_PER_SECOND", default=80)
# Meta's throughput error (130429) pauses the whole number; its pair-rate error (131056) only
# that buyer. Neither counts as a failed attempt.
WHATSAPP_THROUGHPUT_PAUSE_SECONDS = env.float("WHATSAPP_THROUGHPUT_PAUSE_SECONDS", default=5.0)
WHATSAPP_PAIR_PAUSE_SECONDS = env.float("WHATSAPP_PAIR_PAUSE_SECONDS", default=10.0)

# --- Raffles -----------------------------------------------------------------------------------
RESERVATION_TTL_MINUTES = env.int("RESERVATION_TTL_MINUTES", default=30)
RAFFLE_MAX_NUMBERS = env.int("RAFFLE_MAX_NUMBERS", default=1_000_000)
# Ranges up to this size are generated while the raffle is created; larger ones by a task.
RAFFLE_INLINE_GENERATION_MAX = env.int("RAFFLE_INLINE_GENERATION_MAX", default=20_000)
# The board picture (raffles up to 1,000 numbers) is redrawn after a number changes, but at most
# once every this many seconds while numbers keep selling.
BOARD_MIN_RENDER_SECONDS = env.float("BOARD_MIN_RENDER_SECONDS", default=5.0)
PERIODIC_COMMANDS.append(("expire_reservations", 60))
# Sales close at each raffle's cut-off even without it (reservations check the clock); this
# job publishes the sold list promptly.
PERIODIC_COMMANDS.append(("close_sales", 60))

# --- Limits a hostile buyer runs into (enforced by the raffles services: bot, API, admin) ------
# Payment proofs one order accepts (each operator rejection restarts the clock once).
PAYMENT_PROOFS_PER_ORDER = env.int("PAYMENT_PROOFS_PER_ORDER", default=5)
# Live (reserved or waiting for payment) orders one buyer may have at once, across raffles.
LIVE_ORDERS_PER_CONTACT = env.int("LIVE_ORDERS_PER_CONTACT", default=3)
# Numbers one buyer may hold (reserved, not yet paid) in one raffle.
NUMBERS_HELD_PER_CONTACT_PER_RAFFLE = env.int("NUMBERS_HELD_PER_CONTACT_PER_RAFFLE", default=50)
# Minutes a deadline may be pushed back while a proof that arrived in time is being downloaded;
# at most once per proof, so the limit above bounds it too.
PROOF_DOWNLOAD_GRACE_MINUTES = env.int("PROOF_DOWNLOAD_GRACE_MINUTES", default=5)
# Orders whose clock has been stopped (proof under review) longer than this are listed on the
# admin's landing page.
REVIEW_WAITING_ALERT_MINUTES = env.int("REVIEW_WAITING_ALERT_MINUTES", default=120)
# Files in the proofs folder no payment proof refers to (an interrupted save, a deleted order)
# are deleted by `prune_proof_files` once this old.
PERIODIC_COMMANDS.append(("prune_proof_files", 24 * 3600))

# --- Conversation (the bot) -------------------------------------------------------------------
# Dotted path of `handle(message: InboundMessage) -> None`, which whatsapp calls inline for each
# new inbound message; the bot. An empty value stores messages without answering them.
WHATSAPP_INBOUND_HANDLER: str | None = (
    env.str("WHATSAPP_INBOUND_HANDLER", default="conversation.handler.handle_inbound") or None
)
# Minutes before a payment deadline at which a buyer without a proof gets one reminder.
CONVERSATION_REMINDER_MINUTES = env.int("CONVERSATION_REMINDER_MINUTES", default=5)
# Minutes the bot stays quiet for a buyer who asked for a person, unless an operator hands the
# conversation back sooner. Each operator reply starts the quiet time again.
HANDOFF_QUIET_MINUTES = env.int("HANDOFF_QUIET_MINUTES", default=240)
PERIODIC_COMMANDS += [("remind_pending_orders", 60)]

# --- Events to n8n (signed webhooks, events/) -------------------------------------------------
# Seconds to wait for a receiver (connect / whole answer); the lease outlasts both.
EVENTS_CONNECT_TIMEOUT_SECONDS = env.float("EVENTS_CONNECT_TIMEOUT_SECONDS", default=5.0)
EVENTS_HTTP_TIMEOUT_SECONDS = env.float("EVENTS_HTTP_TIMEOUT_SECONDS", default=10.0)
EVENTS_SEND_LEASE_SECONDS = env.int("EVENTS_SEND_LEASE_SECONDS", default=60)
# Sender threads per sweeper pass.
EVENTS_SEND_CONCURRENCY = env.int("EVENTS_SEND_CONCURRENCY", default=4)
# Failed deliveries: exponential backoff with jitter from BASE up to MAX seconds between tries,
# for RETRY_FOR hours; a receiver with no 2xx for DISABLE_AFTER hours is turned off.
EVENTS_RETRY_BASE_SECONDS = env.float("EVENTS_RETRY_BASE_SECONDS", default=5.0)
EVENTS_RETRY_MAX_SECONDS = env.float("EVENTS_RETRY_MAX_SECONDS", default=3600.0)
EVENTS_RETRY_FOR_HOURS = env.float("EVENTS_RETRY_FOR_HOURS", default=72.0)
EVENTS_DISABLE_AFTER_HOURS = env.float("EVENTS_DISABLE_AFTER_HOURS", default=72.0)
# Every subscription multiplies the rows each buyer action writes.
EVENTS_MAX_SUBSCRIPTIONS = env.int("EVENTS_MAX_SUBSCRIPTIONS", default=20)
# Delivered and failed events are kept this long for the delivery log.
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=30)
# The server's public address (https://raffles.example.com): links inside events (a proof's
# download_url) are absolute with it, paths on this server without it.
EVENTS_BASE_URL = env.str("EVENTS_BASE_URL", default="")
PERIODIC_COMMANDS.append(("send_due_events", 5))
PERIODIC_COMMANDS.append(("prune_event_deliveries", 24 * 3600))

# --- Logging -----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"task_outcomes_only": {"()": "project.logfilters.TaskOutcomesOnly"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # Not propagated: with DEBUG on, Django's own "django" console handler printed every
        # task line a second time.
        "django.tasks": {
            "handlers": ["console"],
            "filters": ["task_outcomes_only"],
            "propagate": False,
        },
    },
}

# --- Admin (Jazzmin) ---------------------------------------------------------------------------
from project.jazzmin import JAZZMIN_SETTINGS, JAZZMIN_UI_TWEAKS  # noqa: E402, F401

# --- Internal API (/api/v1/ Ninja, /api/ DRF compatibility) ---------------------------------------
# POSTs with an Idempotency-Key replay their first response (for n8n retries).
MIDDLEWARE = [
    *MIDDLEWARE,
    "project.api_errors.ApiJsonErrorsMiddleware",
    "project.idempotency.IdempotencyMiddleware",
]
# `project` before `ninja`, so `manage.py export_openapi_schema` is ours (sorted, with --check).
INSTALLED_APPS.remove("project")
INSTALLED_APPS.insert(INSTALLED_APPS.index("ninja"), "project")
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)
# A key whose first request died before its response was stored is free again after this.
IDEMPOTENCY_ABANDONED_MINUTES = env.int("IDEMPOTENCY_ABANDONED_MINUTES", default=5)
PERIODIC_COMMANDS = [*PERIODIC_COMMANDS, ("prune_idempotency_records", 3600)]
if DATABASES["default"]["ENGINE"] == "project.sqlite":
    # Checkpoints the WAL here rather than inside a buyer's commit (see sqlite_options).
    PERIODIC_COMMANDS.append(("checkpoint_sqlite", 10))
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=50)
API_MAX_PAGE_SIZE = 500
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["project.auth.DrfStaffToken"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": API_PAGE_SIZE,
    "EXCEPTION_HANDLER": "project.errors.drf_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
