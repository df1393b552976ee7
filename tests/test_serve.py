"""`manage.py serve` is the whole system in one command, and stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, *, deadline: float) -> httpx.Response:
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError as exc:
            last_error = exc
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in time: {last_error}")


@pytest.mark.once
def test_serve_answers_health_admin_docs_and_spec_then_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WHATSAPP_"))},
        "ENV_FILE": str(tmp_path / "no.env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "media"),
        "WEB_CONCURRENCY": "1",
    }
    env.pop("DEBUG", None)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        health = wait_for(f"{base}/healthz", deadline=deadline)
        login = httpx.get(f"{base}/admin/login/", timeout=5)
        docs = httpx.get(f"{base}/api/v1/docs", timeout=5)
        spec = httpx.get(f"{base}/api/v1/openapi.json", timeout=5)
        admin_css = httpx.get(f"{base}/static/jazzmin/css/main.css", timeout=5)

        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert login.status_code == 200 and "jazzmin" in login.text.lower()
        assert docs.status_code == 200
        assert spec.json()["openapi"].startswith("3.")
        assert admin_css.status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)

    assert server.returncode == 0, output
    assert "password" in output  # the generated superuser's password is shown once
    assert "outbound messages are recorded, not sent" in output
    assert "all processes stopped" in output
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the web server outlived serve"


def test_a_copied_env_example_stops_serve_with_one_line_naming_what_to_set(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text((REPO / ".env.example").read_text())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WHATSAPP_"))},
        "ENV_FILE": str(env_file),
    }
    for name in ("DEBUG", "SECRET_KEY", "DATABASE_URL"):
        env.pop(name, None)

    result = subprocess.run(
        [sys.executable, "manage.py", "serve"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for name in ("SECRET_KEY", "WHATSAPP_APP_SECRET", "DJANGO_SUPERUSER_PASSWORD"):
        assert name in lines[0]
