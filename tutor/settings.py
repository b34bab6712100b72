"""Tutorgraph settings: one module, driven by the environment.

With no environment at all this runs the *embedded* mode: SQLite, the in-memory
channel layer and an in-process executor for tutor turns, so that `make run`
works on a fresh machine with no services.

Setting ``DATABASE_URL=postgres://...`` and ``REDIS_URL=redis://...`` switches to
the *distributed* mode: PostgreSQL, the Redis channel layer and cache, and a
Celery broker on Redis with workers on the ``agents`` and ``gpu`` queues.

Production adds ``DEBUG=0``, ``SECRET_KEY``, ``ALLOWED_HOSTS`` and
``CSRF_TRUSTED_ORIGINS``; see README.md ("Production settings").
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
# Security settings follow DEBUG as it is in the environment at start-up, not
# as a test runner may later flip it, so that tests keep plain-HTTP cookies.
SECURE = env_bool("SECURE", not DEBUG)

SECRET_KEY = os.environ.get("SECRET_KEY") or ("embedded-dev-key-only-for-local-use-set-SECRET_KEY-in-production")
if not DEBUG and not os.environ.get("SECRET_KEY"):
    raise RuntimeError("SECRET_KEY must be set when DEBUG=0")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "tutor.accounts",
    "tutor.curricula",
    "tutor.dialogue",
    "tutor.learners",
    "tutor.planning",
    "tutor.srl",
    "tutor.coaching",
    "tutor.tutormodels",
    "tutor.audit",
    "tutor.privacy",
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
]

ROOT_URLCONF = "tutor.urls"
ASGI_APPLICATION = "tutor.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
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

# --- Database -------------------------------------------------------------
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL.startswith(("postgres://", "postgresql://")):
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    EMBEDDED_DB = False
else:
    path = DATABASE_URL.removeprefix("sqlite:///") if DATABASE_URL else str(DATA_DIR / "db.sqlite3")
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            # IMMEDIATE takes the write lock at BEGIN, so two turns on one
            # session serialise instead of failing with "database is locked".
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
    EMBEDDED_DB = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery broker -----------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # Redis pub/sub: a group_send is one PUBLISH, and nothing is dropped at a
    # per-process queue capacity (the list-based layer cost 3x the CPU per
    # turn and silently dropped replies under load; see bench/README.md).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "tutorgraph"},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How tutor turns run: "celery" (distributed) or "inprocess" (embedded).
TURN_EXECUTOR = os.environ.get("TURN_EXECUTOR", "celery" if (REDIS_URL and not EMBEDDED_DB) else "inprocess")

# When imported passages get their embeddings: "celery" (a task on the
# agents queue), "sync" (in the importing process, after commit) or "off".
INDEX_PASSAGES = os.environ.get("INDEX_PASSAGES", "celery" if TURN_EXECUTOR == "celery" else "sync")

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_IGNORE_RESULT = True
# Turn tasks are idempotent (a reply is unique per student message), so a
# redelivery after a crash is safe: acknowledge late, prefetch one.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "agents"
CELERY_TASK_ROUTES = {
    "tutor.dialogue.tasks.*": {"queue": "agents"},
    "tutor.coaching.tasks.*": {"queue": "agents"},  # dashboard aggregate refreshes
    # Embedding passages is model inference: it must not queue ahead of turns.
    "tutor.curricula.tasks.*": {"queue": "gpu"},
    "models.tasks.*": {"queue": "gpu"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the DB connection after every task unless told
# to reuse it; a fresh connection made each turn ~10 ms slower.
CELERY_DB_REUSE_MAX = 100
# Periodic jobs (`make beat`). Item recalibration is idempotent (same responses,
# no new version) and runs on the `gpu` queue so a long fit never waits ahead of turns.
CELERY_BEAT_SCHEDULE = {
    "recalibrate-items": {
        "task": "tutor.learners.tasks.recalibrate_items",
        "schedule": float(os.environ.get("RECALIBRATE_ITEMS_EVERY_S", "3600")),
        "options": {"queue": "gpu"},
    },
}

# --- Tutoring ----------------------------------------------------------------
MESSAGE_MAX_CHARS = 4000  # longest student message we accept, in characters
FRAME_MAX_CHARS = 16000  # longest raw WebSocket frame we will even parse
# Pause between streamed tutor deltas, in milliseconds. The scripted tutor has
# its whole reply at once; a small pause makes the stream readable. With no
# pause the reply goes out in a few larger deltas (each delta is a channel-
# layer message, and per-word messages were most of a turn's CPU cost).
TUTOR_STREAM_DELAY_MS = int(os.environ.get("TUTOR_STREAM_DELAY_MS", "0"))
UNPACED_MAX_DELTAS = 3
# Which backend words the tutor's decisions (docs/tutor.md): "scripted" (the
# default, deterministic, no model), "local" (a transformers model directory)
# or "openai" (an OpenAI-compatible server). Any failure falls back to scripted.
TUTOR_BACKEND = os.environ.get("TUTOR_BACKEND", "scripted")
TUTOR_BACKEND_OPTIONS = {
    "scripted": {},
    "local": {"model_dir": os.environ.get("TUTOR_LOCAL_MODEL_DIR", "")},
    "openai": {
        "base_url": os.environ.get("TUTOR_OPENAI_BASE_URL", ""),
        "model": os.environ.get("TUTOR_OPENAI_MODEL", ""),
        "api_key": os.environ.get("TUTOR_OPENAI_API_KEY") or None,
    },
}.get(TUTOR_BACKEND, {})
# Fine-tuned tutor models (models/llm/): one directory per trained model with its card.
MODEL_REGISTRY_DIR = Path(os.environ.get("MODEL_REGISTRY_DIR", DATA_DIR / "model-registry"))
# Short free-text answers are compared with MiniLM embeddings plus keywords;
# "lexical" skips the model (keywords and word overlap only).
TUTOR_TEXT_SIMILARITY = os.environ.get("TUTOR_TEXT_SIMILARITY", "embeddings")
# Load those models when a server or worker starts, not on the first turn that needs them.
TUTOR_WARM_UP = os.environ.get("TUTOR_WARM_UP", "1") == "1"
# Coaching aggregates are refreshed by a Celery task after each turn in the
# distributed mode; "1" refreshes them inside the turn's own worker instead
# (the real-worker tests use it: a task still running after a test would race
# the test database's flush).
COACHING_REFRESH_INLINE = os.environ.get("COACHING_REFRESH_INLINE") == "1"
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "tutorgraph-demo")

# --- Static files ----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [
    BASE_DIR / "frontend" / "static",
    ("vendor/katex", BASE_DIR / "frontend" / "node_modules" / "katex" / "dist"),
    ("vendor/cytoscape", BASE_DIR / "frontend" / "node_modules" / "cytoscape" / "dist"),
    ("vendor/chartjs", BASE_DIR / "frontend" / "node_modules" / "chart.js" / "dist"),
]
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Production security -----------------------------------------------------
if SECURE:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
