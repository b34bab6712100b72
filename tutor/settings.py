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
    "tutor.security.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "tutor.security.middleware.InputCapsMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tutor.audit.middleware.AuditActorMiddleware",
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
    # Two ways to hold connections, chosen per process:
    # - DB_POOL_MAX_SIZE > 0 (the ASGI web server, set in tutor/asgi.py): a psycopg pool shared by
    #   the process's threads. Under ASGI each HTTP request runs in its own thread, and a persistent
    #   connection per thread piles up until PostgreSQL refuses more; a connection per request
    #   instead costs a connect (about 5 ms here) and a PostgreSQL backend fork every time
    #   (bench/README.md, load.py findings). Django requires CONN_MAX_AGE 0 with a pool.
    # - otherwise DB_CONN_MAX_AGE (default 60 s): the Celery workers, one thread each.
    pool_max = int(os.environ.get("DB_POOL_MAX_SIZE", "0"))
    conn_max_age = 0 if pool_max > 0 else int(os.environ.get("DB_CONN_MAX_AGE", "60"))
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=conn_max_age, conn_health_checks=True)}
    if pool_max > 0:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, pool_max),
            "max_size": pool_max,
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT_S", "10")),
        }
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
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that stops answering fails a cache call in seconds instead of hanging it.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
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
    "tutor.privacy.tasks.*": {"queue": "agents"},  # due deletions, transcript retention purge
    # Embedding passages is model inference: it must not queue ahead of turns.
    "tutor.curricula.tasks.*": {"queue": "gpu"},
    "models.tasks.*": {"queue": "gpu"},
    # Turns worded by the served tutor model (TUTOR_BACKEND=served; docs/serving.md).
    "tutor.tutormodels.tasks.*": {"queue": "gpu"},
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
    # Privacy (docs/privacy.md): deletion requests past their cool-off, transcripts past retention.
    "privacy-deletions-due": {
        "task": "tutor.privacy.tasks.privacy_deletions_due",
        "schedule": float(os.environ.get("PRIVACY_DELETIONS_EVERY_S", "3600")),
        "options": {"queue": "agents"},
    },
    "privacy-transcripts-purge": {
        "task": "tutor.privacy.tasks.transcripts_purge",
        "schedule": float(os.environ.get("PRIVACY_PURGE_EVERY_S", "86400")),
        "options": {"queue": "agents"},
    },
}

# --- Resilience (docs/deployment.md "When a dependency fails") ----------------
# A turn task can be lost without its message: Redis restarted without
# persistence, or the publish after commit failed while the broker was down.
# The sweeper (beat) re-enqueues every session's latest student message still
# unanswered after TURN_SWEEP_AFTER_S; turns are idempotent, so a turn that was
# only slow is not answered twice. A message is given up after TURN_MAX_ATTEMPTS.
TURN_SWEEP_EVERY_S = float(os.environ.get("TURN_SWEEP_EVERY_S", "30"))
TURN_SWEEP_AFTER_S = float(os.environ.get("TURN_SWEEP_AFTER_S", "60"))
TURN_MAX_ATTEMPTS = 5
CELERY_BEAT_SCHEDULE["turns-unanswered-sweep"] = {
    "task": "tutor.dialogue.tasks.turns_unanswered_sweep",
    "schedule": TURN_SWEEP_EVERY_S,
    "options": {"queue": "agents", "expires": TURN_SWEEP_EVERY_S},
}
# A task delivered to a worker that dies (SIGKILL, OOM, a lost host) stays in
# Redis's "unacked" set and goes back on its queue once it is older than the
# visibility timeout. Shorter brings a crashed turn back sooner, but a task
# still running (or waiting in a worker's prefetch) after that long is
# delivered a second time: keep it above the longest task (model fits on the
# gpu queue). Turns are idempotent, and the sweeper and the browser's resend
# usually answer a lost turn well before this.
BROKER_VISIBILITY_TIMEOUT_S = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT_S", "900"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT_S,
    # Look for such tasks every few seconds, not every 100 s (kombu's 10 x 10).
    "unacked_restore_interval": max(1, min(10, BROKER_VISIBILITY_TIMEOUT_S // 2)),
    "unacked_restore_throttle": 1,
}

# --- Privacy (tutor/privacy, docs/privacy.md) -----------------------------------
# Days between a deletion request and the deletion (it can be cancelled meanwhile).
PRIVACY_DELETION_COOL_OFF_DAYS = int(os.environ.get("PRIVACY_DELETION_COOL_OFF_DAYS", "7"))
# Tutoring transcripts with no message for this many days are purged; 0 keeps them.
PRIVACY_TRANSCRIPT_RETENTION_DAYS = int(os.environ.get("PRIVACY_TRANSCRIPT_RETENTION_DAYS", "365"))

# --- Rate limits (tutor/security/ratelimit.py; docs/security.md) ---------------
# "count/seconds" pairs; a count of 0 switches a limit off. Counters live in the
# cache above: Redis (shared by every process) in the distributed mode.


def env_rate(name: str, default: str) -> tuple[int, int]:
    count, _, seconds = os.environ.get(name, default).partition("/")
    return int(count), int(seconds or 60)


RATE_LIMIT_LOGIN = env_rate("RATE_LIMIT_LOGIN", "10/300")  # failed sign-ins per username + address
RATE_LIMIT_CHAT_USER = env_rate("RATE_LIMIT_CHAT_USER", "30/60")  # chat messages per user, all sockets
RATE_LIMIT_CHAT_SOCKET = env_rate("RATE_LIMIT_CHAT_SOCKET", "20/60")  # chat messages per socket connection
LLM_TOKENS_PER_USER_PER_DAY = int(os.environ.get("LLM_TOKENS_PER_USER_PER_DAY", "20000"))  # UTC day
RATE_LIMIT_KEY_PREFIX = "rl"

# --- Input size caps ---------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # request body (not files), bytes: Django's 2.5 MiB default, explicit
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # larger uploads spill to a temporary file
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FORM_FIELD_MAX_CHARS = 20_000  # any one POST field (tutor/security/middleware.py: InputCapsMiddleware)

# --- Content Security Policy (tutor/security/middleware.py) --------------------
# The one style hash is the <style> element Cytoscape inserts for its container
# (".__________cytoscape_container { position: relative; }"; tests/test_csp.py).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'sha256-pgvDUBa4IjFA2yuSJ2cqcyxmNYJMborsd0ORcRv9vw8='",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)

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
# "served": the tutor language model on the batching engine, turns on the `gpu`
# Celery queue; "turnmodel": the same engine inside the web process (embedded
# mode). Their model: TUTOR_SERVED_BASE_DIR, else the live registry model, else
# SmolLM2 (docs/serving.md).
TUTOR_BACKEND = os.environ.get("TUTOR_BACKEND", "scripted")
_SERVED = {
    "base_dir": os.environ.get("TUTOR_SERVED_BASE_DIR", ""),
    "adapter_dir": os.environ.get("TUTOR_SERVED_ADAPTER_DIR") or None,
    "timeout_s": float(os.environ.get("TUTOR_SERVED_TIMEOUT_S", "20")),
    "max_new_tokens": int(os.environ.get("TUTOR_SERVED_MAX_NEW_TOKENS", "96")),
    "dtype": os.environ.get("TUTOR_SERVED_DTYPE", "auto"),
    # torch CPU threads of the engine; unset: every core but one, which stays free for the worker's
    # other threads. A box that only serves the model may give it all (bench/README.md, generation).
    "num_threads": int(os.environ["TUTOR_SERVED_THREADS"]) if os.environ.get("TUTOR_SERVED_THREADS") else None,
}
TUTOR_BACKEND_OPTIONS = {
    "scripted": {},
    "local": {"model_dir": os.environ.get("TUTOR_LOCAL_MODEL_DIR", "")},
    "openai": {
        "base_url": os.environ.get("TUTOR_OPENAI_BASE_URL", ""),
        "model": os.environ.get("TUTOR_OPENAI_MODEL", ""),
        "api_key": os.environ.get("TUTOR_OPENAI_API_KEY") or None,
    },
    "served": _SERVED,
    "turnmodel": _SERVED,
}.get(TUTOR_BACKEND, {})
# A turn tried this many times (its workers died mid-generation) is worded by
# the scripted verbaliser, so one reply cannot take workers down forever.
TUTOR_SERVED_MAX_ATTEMPTS = int(os.environ.get("TUTOR_SERVED_MAX_ATTEMPTS", "3"))
# A language model's guarded deltas go to the socket live, coalesced into
# frames at most this often, so the channel layer is not sent one message per token.
TUTOR_DELTA_FRAME_MS = int(os.environ.get("TUTOR_DELTA_FRAME_MS", "50"))
# Fine-tuned tutor models (models/llm/): one directory per trained model with its card.
MODEL_REGISTRY_DIR = Path(os.environ.get("MODEL_REGISTRY_DIR", DATA_DIR / "model-registry"))
# Models shipped in the repository (read-only; docs/tutor-models.md). A trained entry of the same name wins.
SHIPPED_MODELS_DIR = BASE_DIR / "models" / "registry"
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
# With Celery, a student's dashboard rows are refreshed at most once per this many seconds
# (the first turn of a window schedules the refresh at its end; 0 = after every turn).
# 30, not 10: a student at a 5-15 s pace sends about one message per 10 s, so a 10 s window
# still refreshed after nearly every turn (bench/load.py). A teacher's view lags by <= 30 s.
COACHING_REFRESH_DEBOUNCE_S = int(os.environ.get("COACHING_REFRESH_DEBOUNCE_S", "30"))
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
# These hold in every mode (they are Django's defaults, stated so no one drops
# them by accident); the HTTPS-only ones follow in the SECURE block.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
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
