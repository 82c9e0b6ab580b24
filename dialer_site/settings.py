"""Django settings for Dialer. Every value that differs between machines comes
from the environment (or a `.env` file next to manage.py); see .env.example."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from dialer_site.env import env_base_url, env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
# The test script turns this off so a developer's .env cannot leak into test runs.
if env_bool("READ_DOTENV", True):
    load_dotenv(BASE_DIR / ".env", override=False)

DEBUG = env_bool("DEBUG", False)
# A development key is only acceptable while DEBUG is on; production must set its own.
SECRET_KEY = env_str("SECRET_KEY", "django-insecure-development-only", required=not DEBUG)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",  # first, so `runserver` serves WebSockets through ASGI
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # the form renderer below finds Django's own widget templates here
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the docs page's Swagger UI, served from here (no CDN)
    "dialer_site",
    "campaigns",
    "campaigns.webhooks",
    "calls",
    "dialer_site.dashboard",
    "dialer_site.staff",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dialer_site.staff.time_zones.StaffTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "dialer_site.urls"
ASGI_APPLICATION = "dialer_site.asgi.application"
WSGI_APPLICATION = None

# Widgets render through TEMPLATES, so templates/ can override one (the admin's split date and
# time widget gets a label for each input there).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "campaigns.webhooks.notices.disabled_endpoints",
            ],
        },
    },
]

# The product runs with nothing installed (SQLite); tests and production use PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Not kept per thread: under ASGI every request runs on its own thread, and a kept
        # connection per thread exhausts PostgreSQL's max_connections (seen in
        # bench/webhook_throughput.py). PostgreSQL reuses them through the pool below.
        conn_max_age=0,
        # With the pool: an empty query on lending drops connections a restart broke.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg's pool, per process: a request borrows a connection and gives it back, where
    # opening one per request cost more than everything a status callback does.
    DATABASES["default"]["OPTIONS"] = {"pool": {
        "min_size": 1, "max_size": env_int("DATABASE_POOL_SIZE", 8), "timeout": 10,
    }}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # daphne, the worker, beat and the applier all write: WAL lets readers run beside a writer, and
    # IMMEDIATE transactions queue writers (for up to `timeout` s) instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# Lets several test runs share one PostgreSQL server without fighting over test_<name>.
if env_str("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "campaign-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve from the finders too, so a checkout works without a collectstatic step.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "media/"  # never served publicly: recordings go through a staff-only view
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Redis: Celery broker and the Channels layer -----------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 times socket reads out after 5 s, exactly channels-redis's blocking
        # receive (BZPOPMIN, 5 s): the read must be allowed to outlast it.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
    }
}
# Twilio's status callbacks wait here for `manage.py apply_status_callbacks` (calls.status_stream).
STATUS_CALLBACK_STREAM = env_str("STATUS_CALLBACK_STREAM", "twilio:status-callbacks")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker or beat that cannot reach Redis waits for it, at start-up and after a lost
# connection (Redis restarted, say), instead of exiting; retries never run out.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Longer than any countdown we schedule, or Redis would hand the task to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "dialer")
CELERY_TIMEZONE = "UTC"
# How often beat asks for a dispatch round; a round's messages expire with the next one.
DISPATCH_TICK_SECONDS = 2.0
# The reaper (calls.dialer.reaper.reap) runs this often. It gives a dial DIAL_GRACE_SECONDS to
# be confirmed before it looks for it at Twilio, and fetches a live call from Twilio once it
# has been silent RECONCILE_MARGIN_SECONDS past its ring timeout (unanswered) or since its
# media stream last showed life (answered; the stream beats every third of the margin). So a
# call whose final callback was lost is reconciled within margin + interval (75 s by default)
# of Twilio ending it.
REAPER_INTERVAL_SECONDS = env_int("REAPER_INTERVAL_SECONDS", 30)
DIAL_GRACE_SECONDS = env_int("DIAL_GRACE_SECONDS", 120)
RECONCILE_MARGIN_SECONDS = env_int("RECONCILE_MARGIN_SECONDS", 45)
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-leads": {"task": "calls.tasks.dispatch_tick", "schedule": DISPATCH_TICK_SECONDS},
    # A reap that waited longer than one interval (no worker up) is superseded by the next.
    "reap-unknown-dials": {"task": "calls.tasks.reap_dials", "schedule": REAPER_INTERVAL_SECONDS,
                           "options": {"expires": REAPER_INTERVAL_SECONDS}},
    "resolve-lead-zones": {"task": "calls.tasks.resolve_lead_zones", "schedule": 10.0},
    "forget-idempotency-keys": {"task": "calls.tasks.forget_expired_idempotency_keys", "schedule": 3600.0},
    "sweep-webhook-outbox": {"task": "campaigns.webhooks.tasks.sweep", "schedule": 30.0},
}

# Django's cache: the API's per-token request counts, shared by every web process.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                      "KEY_PREFIX": "dialer"}}

# --- The REST API (/api/v1/, calls.api) ----------------------------------------------
# Requests per token (DRF's rate syntax: N/second, N/minute, N/hour, N/day); more get 429.
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/minute")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["calls.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["calls.api.auth.ScopePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["calls.api.auth.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "calls.api.problems.problem_details",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Dialer API",
    "DESCRIPTION": "Campaigns, leads, calls, the do-not-call list, contact imports and webhooks. "
    "Send `Authorization: Bearer <token>` (tokens are made in the admin, with scopes read, write, calls).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Deep links put a link inside each operation's toggle button, which keyboard and screen
    # reader users cannot tell apart from the button (axe: nested-interactive); the
    # highlighting themes colour responses below 4.5:1 contrast.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "syntaxHighlight": False},
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CallStatus": "calls.models.Call.Status",
        "CampaignStatus": "campaigns.models.Campaign.Status",
        "LeadState": "campaigns.models.Lead.State",
        "ImportStatus": "campaigns.models.ContactImport.Status",
        "DeliveryState": "campaigns.webhooks.models.Delivery.State",
        "Outcome": "campaigns.models.Disposition",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "calls.api.problems.document_problems"],
}

# --- Webhooks to the customer's systems (campaigns.webhooks) ------------------------
# Loopback, private and link-local destinations are refused unless this allows them
# (tests, receivers on the same network as an on-premise install).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
# The waits after each failed attempt, in seconds; then the delivery is given up. The
# default sums to about 36 hours, growing roughly fivefold then doubling.
WEBHOOK_RETRY_SECONDS = [int(s) for s in env_list("WEBHOOK_RETRY_SECONDS", [
    "5", "30", "120", "600", "1800", "3600", "7200", "14400", "28800", "36000", "36000"])]

# --- Twilio -----------------------------------------------------------------------
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", required=not DEBUG)
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL", "https://api.twilio.com").rstrip("/")
TWILIO_VALIDATE_SIGNATURES = env_bool("TWILIO_VALIDATE_SIGNATURES", True)
# The From number for API calls that name neither a campaign nor a number.
TWILIO_CALLER_ID = env_str("TWILIO_CALLER_ID")
# The longest an outbound call may last (Twilio's TimeLimit): Twilio ends it then, even if
# the bot that should have hung up died with its process.
TWILIO_TIME_LIMIT_SECONDS = env_int("TWILIO_TIME_LIMIT_SECONDS", 3600)
# What a caller waiting for an agent (a warm hand-off) hears: the conference's waitUrl, TwiML
# that plays music (Twilio's own hold music by default; the bot has said "please hold").
TRANSFER_WAIT_URL = env_str("TRANSFER_WAIT_URL", "http://twimlets.com/holdmusic?Bucket=com.twilio.music.classical")
# Outbound calls per second the account may create (1 for a new Twilio account).
TWILIO_CALLS_PER_SECOND = env_float("TWILIO_CALLS_PER_SECOND", 1.0)
if not TWILIO_VALIDATE_SIGNATURES and not DEBUG:
    raise ImproperlyConfigured(
        "TWILIO_VALIDATE_SIGNATURES=false is only allowed for local development with DEBUG=true."
    )

# --- Voice stacks -----------------------------------------------------------------
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
DEEPGRAM_API_KEY = env_str("DEEPGRAM_API_KEY")
# Unset: the real services. Their WebSocket URLs are derived: ws for http, wss for https.
DEEPGRAM_BASE_URL = env_base_url("DEEPGRAM_BASE_URL")
CARTESIA_API_KEY = env_str("CARTESIA_API_KEY")
CARTESIA_BASE_URL = env_base_url("CARTESIA_BASE_URL")
CARTESIA_VOICE_ID = env_str("CARTESIA_VOICE_ID", "71a7ad14-091c-4e8e-a314-022ece01c121")
# Load the shared models (Silero, the pocketsphinx workers) when daphne starts, not in its first call.
BOT_WARM_UP = env_bool("BOT_WARM_UP", True)
# "standin": fixed-latency stand-ins for every call's speech and language services; "lite" or
# "natural": every call on that offline stack, whatever its campaign says (benchmarks).
BOT_SERVICES = env_str("BOT_SERVICES")
# Speech worker processes (pocketsphinx, Whisper, Piper, the intent encoder) per daphne
# process; 0 shares the host's cores out among its WEB_PROCESSES.
BOT_ASR_WORKERS = env_int("BOT_ASR_WORKERS", 0)
# Web processes on this host (`make run` starts this many; in production, the dialer-web
# instances per host). Each has its own speech worker pool: one per core each would put
# cores x processes decoders on the cores.
WEB_PROCESSES = env_int("WEB_PROCESSES", 1)
# The natural stack's models and the intent encoder; empty: the files their packages ship.
WHISPER_MODEL_PATH = env_str("WHISPER_MODEL_PATH")
PIPER_VOICE_PATH = env_str("PIPER_VOICE_PATH")
INTENT_MODEL_PATH = env_str("INTENT_MODEL_PATH")
# How the end of a caller's turn is found: "smart" (Smart Turn v3) or "silence" (a timeout).
BOT_TURN_DETECTION = env_str("BOT_TURN_DETECTION", "smart")
# Under BOT_TURN_DETECTION=silence: seconds from the caller's last sound to the end of their
# turn. 0.8 answers soonest; on the bench 1.2 was the shortest that cut no pausing caller off.
BOT_SILENCE_TIMEOUT_SECS = env_float("BOT_SILENCE_TIMEOUT_SECS", 0.8)

# --- Web processes: admission, drain, metrics (calls.capacity, dialer_site.web_server) ---
# Media streams (calls) one daphne process holds before it refuses new ones. The last
# measurement (bench/concurrent_calls.py, stand-in services, 2 December 2026) held 8 calls in
# one process with every call in real time (p99 frame gap 28 ms) and none at 16.
MEDIA_STREAMS_PER_PROCESS = env_int("MEDIA_STREAMS_PER_PROCESS", 8)
# A process whose event loop runs this late (p95 of the lag probe over 10 s, in ms) refuses
# new streams too, whatever their number: the bot's audio is sent 160 ms ahead of what the
# caller hears, so a loop this late is about to become audible gaps in every call it holds.
MEDIA_ADMISSION_LAG_P95_MS = env_float("MEDIA_ADMISSION_LAG_P95_MS", 100.0)
# How often each web process publishes its load to Redis; it counts as gone after three misses.
WEB_HEARTBEAT_SECONDS = env_float("WEB_HEARTBEAT_SECONDS", 2.0)
# The bearer token Prometheus sends to GET /metrics (empty: only a signed-in staff member).
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- Contact import ---------------------------------------------------------------
CONTACT_UPLOAD_MAX_BYTES = env_int("CONTACT_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Production hardening: on whenever DEBUG is off ----------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "dialer_site.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # The twilio package logs every REST request and response, headers included, at INFO
    # (thirteen lines a placed call); its failures still come through as our own warnings.
    "loggers": {"twilio.http_client": {"level": "WARNING"}},
}
