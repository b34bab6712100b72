"""Production settings, checked the way a deployment loads them: in a fresh
process, from the environment alone (see docs/deployment.md)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Every variable the settings read; none may leak in from the test runner.
SETTINGS_VARS = {
    "DEBUG",
    "SECURE",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "TURN_EXECUTOR",
    "TUTOR_STREAM_DELAY_MS",
    "DEMO_PASSWORD",
    "DATA_DIR",
    "LOG_LEVEL",
    "RATE_LIMIT_LOGIN",
    "RATE_LIMIT_CHAT_USER",
    "RATE_LIMIT_CHAT_SOCKET",
    "LLM_TOKENS_PER_USER_PER_DAY",
}

PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
names = ["DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
         "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_PROXY_SSL_HEADER",
         "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
         "CSRF_COOKIE_SAMESITE", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY", "X_FRAME_OPTIONS",
         "SECURE_HSTS_PRELOAD", "CONTENT_SECURITY_POLICY", "MIDDLEWARE", "RATE_LIMIT_LOGIN", "RATE_LIMIT_CHAT_USER",
         "RATE_LIMIT_CHAT_SOCKET", "LLM_TOKENS_PER_USER_PER_DAY", "DATA_UPLOAD_MAX_MEMORY_SIZE",
         "FILE_UPLOAD_MAX_MEMORY_SIZE", "DATA_UPLOAD_MAX_NUMBER_FIELDS"]
values = {name: getattr(settings, name) for name in names}
values["STATICFILES_STORAGE"] = settings.STORAGES["staticfiles"]["BACKEND"]
print(json.dumps(values))
"""


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env["DJANGO_SETTINGS_MODULE"] = "tutor.settings"
    env.update(overrides)
    return env


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    """The documented production environment, with SQLite in a scratch dir."""
    return clean_env(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        ALLOWED_HOSTS="tutor.example.org",
        CSRF_TRUSTED_ORIGINS="https://tutor.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        DATA_DIR=str(tmp_path),
    )


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def settings_in(env: dict[str, str]) -> dict:
    result = run_python(["-c", PRINT_SETTINGS], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_env_passes_check_deploy_without_warnings(production_env):
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output


def test_settings_refuse_to_load_with_debug_off_and_no_secret_key(production_env):
    del production_env["SECRET_KEY"]
    result = run_python(["manage.py", "check"], production_env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_an_empty_secret_key(production_env):
    production_env["SECRET_KEY"] = ""
    result = run_python(["manage.py", "check"], production_env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_secure_cookies_https_and_hsts(production_env):
    values = settings_in(production_env)
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 60 * 60 * 24 * 365
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    # TLS ends at the proxy, which tells Django the original scheme.
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["ALLOWED_HOSTS"] == ["tutor.example.org"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://tutor.example.org"]
    assert values["STATICFILES_STORAGE"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_production_cookies_headers_and_csp(production_env):
    values = settings_in(production_env)
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax" and values["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["SECURE_REFERRER_POLICY"] == "same-origin"
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert "tutor.security.middleware.ContentSecurityPolicyMiddleware" in values["MIDDLEWARE"]
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" in values["MIDDLEWARE"]
    policy = values["CONTENT_SECURITY_POLICY"]
    assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy


def test_production_has_input_caps_and_rate_limits_by_default(production_env):
    values = settings_in(production_env)
    assert values["DATA_UPLOAD_MAX_MEMORY_SIZE"] <= 5 * 2**20
    assert values["FILE_UPLOAD_MAX_MEMORY_SIZE"] <= 5 * 2**20
    assert values["DATA_UPLOAD_MAX_NUMBER_FIELDS"] <= 1000
    assert values["RATE_LIMIT_LOGIN"] == [10, 300]
    assert values["RATE_LIMIT_CHAT_USER"] == [30, 60] and values["RATE_LIMIT_CHAT_SOCKET"] == [20, 60]
    assert values["LLM_TOKENS_PER_USER_PER_DAY"] == 20000


def test_rate_limits_follow_the_environment(production_env):
    production_env.update(RATE_LIMIT_LOGIN="5/600", RATE_LIMIT_CHAT_USER="0/60", LLM_TOKENS_PER_USER_PER_DAY="500")
    values = settings_in(production_env)
    assert values["RATE_LIMIT_LOGIN"] == [5, 600]
    assert values["RATE_LIMIT_CHAT_USER"] == [0, 60]  # 0 switches the limit off
    assert values["LLM_TOKENS_PER_USER_PER_DAY"] == 500


def test_production_ssl_redirect_and_hsts_follow_the_environment(production_env):
    production_env.update(SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="3600")
    values = settings_in(production_env)
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 3600
    assert values["SESSION_COOKIE_SECURE"] is True


def test_embedded_mode_keeps_plain_http_cookies(tmp_path):
    values = settings_in(clean_env(DATA_DIR=str(tmp_path)))
    assert values["DEBUG"] is True
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_SSL_REDIRECT"] is False
