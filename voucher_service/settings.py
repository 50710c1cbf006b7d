"""Settings for voucher_service, read from the environment.

Two ways to run, one codebase:

* **Embedded** (no ``DATABASE_URL``): a SQLite file under ``DATA_DIR`` whose writers are serialised
  (``BEGIN IMMEDIATE``), and a Celery broker on the local filesystem, so ``make run`` needs no server and
  still runs the real task code in a real worker with a real beat.
* **Production** (``DATABASE_URL`` pointing at PostgreSQL and ``CELERY_BROKER_URL`` at Redis): pooled
  PostgreSQL connections, separate worker and beat processes (see ``docker-compose.yml``).

Every variable read here is listed in ``.env.example``; a test checks that docker-compose sets nothing
that this module does not read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATABASE_URL = os.environ.get("DATABASE_URL", "")
# Embedded mode is simply "no database server was named": the laptop / demo default.
EMBEDDED = not DATABASE_URL
DEBUG = env_bool("DEBUG", default=False)
DATA_DIR = Path(os.environ.get("DATA_DIR", str(BASE_DIR / "var")))

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if EMBEDDED or DEBUG:
        # A fixed development key is fine for a local SQLite demo: it never signs anything that leaves it.
        SECRET_KEY = "embedded-insecure-development-key-do-not-use-in-production-0123456789"  # noqa: S105
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set (production).")

# Demo users with a known password exist only where nobody real can reach them.
DEMO_ENABLED = DEBUG or EMBEDDED

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if (DEBUG or EMBEDDED) else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "ledger",
    "voucher_service",
    "voucher_service.programs",
    "voucher_service.vouchers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "voucher_service.api.middleware.RefuseNulCharacters",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "voucher_service.urls"
WSGI_APPLICATION = "voucher_service.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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


def _database_config() -> dict[str, Any]:
    if EMBEDDED:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(DATA_DIR / "voucher_service.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of one failing
                # half-way with "database is locked"; this is SQLite's stand-in for row locks.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    config: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=0))
    if env_bool("DB_POOL", default=True):
        # Django's native psycopg pool (CONN_MAX_AGE must stay 0 with it).
        config["OPTIONS"] = {
            "pool": {
                "min_size": env_int("DB_POOL_MIN_SIZE", 2),
                "max_size": env_int("DB_POOL_MAX_SIZE", 40),
                "timeout": env_int("DB_POOL_TIMEOUT", 30),
            }
        }
    return config


DATABASES = {"default": _database_config()}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# zh-hans is the default; Accept-Language picks en per request (LocaleMiddleware).
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if (DEBUG or EMBEDDED)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security: strict unless running locally -------------------------------------------------------------
_LOCAL = DEBUG or EMBEDDED
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not _LOCAL)
SESSION_COOKIE_SECURE = not _LOCAL
CSRF_COOKIE_SECURE = not _LOCAL
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if _LOCAL else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not _LOCAL
SECURE_HSTS_PRELOAD = not _LOCAL
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# /healthz is probed by load balancers over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- API ---------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "voucher_service.api.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON only (with size and depth limits); the one endpoint that takes a file names multipart itself.
    "DEFAULT_PARSER_CLASSES": ["voucher_service.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "voucher_service.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "voucher_service.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if _LOCAL else []),
    "COERCE_DECIMAL_TO_STRING": True,
    # Password-for-token exchanges are the brute-force target; everything else is behind a token.
    "DEFAULT_THROTTLE_RATES": {"auth": os.environ.get("AUTH_THROTTLE_RATE", "30/min"), "verify": "120/min"},
    # Throttles count per client address. X-Forwarded-For is written by whoever sends the request, so it is
    # believed only as far as our own proxies go: NUM_PROXIES is how many of them append to it (the client is
    # that many entries from the right). 0 (no proxy; gunicorn faces clients) means REMOTE_ADDR only.
    # Never leave it unset: DRF would then key on the whole client-supplied header, and every login attempt
    # with a new made-up X-Forwarded-For would get a fresh allowance.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "voucher_service API",
    "DESCRIPTION": (
        "Compute voucher (算力券) issuance and redemption ledger. Money is sent and returned as decimal "
        "strings in 元 (yuan) with at most two decimals; it is stored as integer 分 (fen)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Paths below /api/v1 are tagged by their first segment (programs, vouchers…), not all as "v1".
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "voucher_service.api.schema.close_request_bodies",
    ],
    # Several models have a "status" or "kind"; name each enum after its model so clients get stable names.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "OrganizationKindEnum": "accounts.models.OrganizationKind",
        "ProgramStatusEnum": "voucher_service.programs.models.ProgramStatus",
        "ListingStatusEnum": "voucher_service.programs.models.ListingStatus",
        "ApplicationStatusEnum": "voucher_service.vouchers.models.ApplicationStatus",
        "IssuanceKindEnum": "voucher_service.vouchers.models.IssuanceKind",
        "IssuanceStatusEnum": "voucher_service.vouchers.models.IssuanceStatus",
        "VoucherStatusEnum": "voucher_service.vouchers.models.VoucherStatus",
        "BulkStatusEnum": "voucher_service.vouchers.models.BulkStatus",
    },
}

# API tokens: how long a new token lives.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24 * 30)

# --- Celery ------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
if not CELERY_BROKER_URL:
    # Embedded: a broker on the local filesystem. The worker and beat started by `make run` are real Celery
    # processes reading these folders, so the same task code and the same schedule run without Redis.
    _celery_dir = DATA_DIR / "celery"
    for sub in ("queue", "processed", "results", "control"):
        (_celery_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        # Broadcast (pidbox) exchanges; kombu's default is ./control in the working directory.
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", f"file://{_celery_dir / 'results'}")
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)

# Tasks are idempotent and take ids, so re-delivery after a crash is safe: ack only after the work is done.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 7 * 24 * 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The beat schedule is assembled from each package's schedule.py in voucher_service/celery.py.

# --- Logging -----------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Identity numbers ----------------------------------------------------------------------------------
# Key for the HMAC of makers' personal ID numbers. Kept apart from SECRET_KEY so that rotating SECRET_KEY
# (sessions, signing) does not orphan every stored digest: a fallback to SECRET_KEY would make that rotation
# silently break duplicate-maker detection, so production must name the key itself.
PERSONAL_ID_HMAC_KEY = os.environ.get("PERSONAL_ID_HMAC_KEY", "")
if not PERSONAL_ID_HMAC_KEY:
    if EMBEDDED or DEBUG:
        PERSONAL_ID_HMAC_KEY = SECRET_KEY
    else:
        raise ImproperlyConfigured(
            "PERSONAL_ID_HMAC_KEY must be set when DATABASE_URL is set (production), and never change once set."
        )

# --- Cache ---------------------------------------------------------------------------------------------------
# Shared between web and worker processes: live progress of bulk issuances and API throttling counters.
# Production reuses the Redis that brokers Celery (keys are prefixed); embedded mode uses files under DATA_DIR.
if CELERY_BROKER_URL.startswith("redis"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CELERY_BROKER_URL,
            "KEY_PREFIX": "vs",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }
