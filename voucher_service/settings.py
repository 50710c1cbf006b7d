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
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def env_bool(name: str, default: bool = False) -> bool:
    """A yes/no variable: unset or empty is ``default``; anything but 1/0, true/false, yes/no, on/off is refused
    (a typo must not silently turn a security setting off)."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={os.environ[name]!r} is not a yes/no value: use 1 or 0 (or true/false).")


def env_int(name: str, default: int) -> int:
    """A whole-number variable: unset or empty is ``default``; anything else that is not a whole number is refused."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={os.environ[name]!r} is not a whole number.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATABASE_URL = os.environ.get("DATABASE_URL", "")
# Embedded mode is simply "no database server was named": the laptop / demo default (SQLite, filesystem broker).
EMBEDDED = not DATABASE_URL
DEBUG = env_bool("DEBUG", default=False)
# The one "local mode" flag: embedded or DEBUG. Local mode has development keys when none are set, demo users,
# a browsable and public API schema, no HTTPS redirect, no Secure cookies and no HSTS; everything else is strict.
LOCAL = EMBEDDED or DEBUG
DATA_DIR = Path(os.environ.get("DATA_DIR", str(BASE_DIR / "var")))

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if LOCAL:
        # A fixed development key is fine for a local SQLite demo: it never signs anything that leaves it.
        SECRET_KEY = "embedded-insecure-development-key-do-not-use-in-production-0123456789"  # noqa: S105
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set (production).")

# Demo users with a known password exist only in local mode, where nobody real can reach them (voucher_service.demo).
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if LOCAL else "")
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
    "axes",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "accounts",
    "ledger",
    "voucher_service",
    "voucher_service.programs",
    "voucher_service.vouchers",
    "voucher_service.claims",
    "voucher_service.reports",
    "voucher_service.portal",
    "voucher_service.notifications",
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
    # request.user.is_verified(): whether this session passed a second factor (finance users, portal.two_factor).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "voucher_service.security.ContentSecurityPolicyMiddleware",
    # Last: it turns a login refused because of a lockout into the lockout answer (voucher_service.security).
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out account or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "voucher_service.urls"
# The portal's session login (voucher_service.portal); the admin keeps its own.
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"
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
                "voucher_service.portal.context.portal",
            ],
        },
    },
]


def _database_config() -> dict[str, Any]:
    if EMBEDDED:
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
        # With the pool, Django checks a connection (one empty round trip) as it leaves the pool: after the server
        # restarted or ended its sessions, each dead idle connection would otherwise fail one request with a 500
        # (tests/faults/test_postgres_terminated.py).
        config["CONN_HEALTH_CHECKS"] = True
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
# Uploaded files (claim evidence): the filesystem under DATA_DIR by default; an S3-compatible bucket in production
# with EVIDENCE_STORAGE=s3 (django-storages; the AWS_* variables below, or the instance's own credentials).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "media/"  # never served as such: evidence is served by the API to those who may see the claim
EVIDENCE_STORAGE = os.environ.get("EVIDENCE_STORAGE", "filesystem")
if EVIDENCE_STORAGE == "s3":
    _default_storage: dict[str, Any] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", ""),
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif EVIDENCE_STORAGE == "filesystem":
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured("EVIDENCE_STORAGE is filesystem (the default) or s3.")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if LOCAL
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security: strict unless running locally -------------------------------------------------------------
# How many reverse proxies in front of the web service append to X-Forwarded-For (see .env.example). Headers a
# proxy sets are believed only when there is one: with gunicorn facing clients, anyone can write them.
NUM_PROXIES = env_int("NUM_PROXIES", 0)
# Behind a proxy that terminates TLS, X-Forwarded-Proto says whether the client used HTTPS. Without one it is
# whatever the client made up, and believing it would make plain HTTP look secure (no redirect, Secure cookies).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if NUM_PROXIES > 0 else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not LOCAL)
SESSION_COOKIE_SECURE = not LOCAL
CSRF_COOKIE_SECURE = not LOCAL
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if LOCAL else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not LOCAL
SECURE_HSTS_PRELOAD = not LOCAL
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# /healthz is probed by load balancers over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Sent with every response (voucher_service.security). Our pages (admin, API docs from our own static files)
# load nothing from elsewhere and run no inline script; inline styles are allowed for the admin and the docs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

# --- Login lockout (django-axes) ----------------------------------------------------------------------------
# Every password check (admin login, POST /api/v1/auth/token/, later the portal) counts failures per account
# and per client address separately; LOGIN_FAILURE_LIMIT failures lock that account, or that address, out for
# LOGIN_LOCKOUT_MINUTES. A success resets the count. Lockouts are written to the audit trail.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "voucher_service.security.client_ip"
AXES_LOCKOUT_CALLABLE = "voucher_service.security.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Failed attempts are counted in AccessAttempt rows; the per-login access log is the audit trail's job.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# --- Second factor (django-otp) ------------------------------------------------------------------------------
# Finance users, who record payouts, may enrol a TOTP authenticator in the portal; once enrolled they give its
# code after their password. With PORTAL_FINANCE_REQUIRE_TOTP a finance user without one must enrol before any
# finance page (payouts) opens. Off in embedded mode (the demo), on otherwise unless the environment says no.
PORTAL_FINANCE_REQUIRE_TOTP = env_bool("PORTAL_FINANCE_REQUIRE_TOTP", default=not EMBEDDED)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Compute vouchers")

# --- API ---------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "voucher_service.api.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["voucher_service.api.filters.ListFilterBackend"],
    # JSON only (with size and depth limits); the one endpoint that takes a file names multipart itself.
    "DEFAULT_PARSER_CLASSES": ["voucher_service.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "voucher_service.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50),
    "EXCEPTION_HANDLER": "voucher_service.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if LOCAL else []),
    "COERCE_DECIMAL_TO_STRING": True,
    # The API takes JSON (multipart only where a file is uploaded, which says so): so does the test client.
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Password-for-token exchanges are the brute-force target; everything else is behind a token.
    "DEFAULT_THROTTLE_RATES": {
        "auth": os.environ.get("AUTH_THROTTLE_RATE", "30/min"),
        "verify": "120/min",
        # Registrations and edits of organisations per user: each maker registration asks whether a personal ID
        # is registered anywhere in the country, so the answers per hour are bounded.
        "organization_write": os.environ.get("ORGANIZATION_WRITE_THROTTLE_RATE", "120/hour"),
        # Objections (异议) to claims under public notice: anyone may file one without logging in.
        "objection": os.environ.get("OBJECTION_THROTTLE_RATE", "10/hour"),
        "public_notices": "120/min",
    },
    # Throttles count per client address. X-Forwarded-For is written by whoever sends the request, so it is
    # believed only as far as our own proxies go: NUM_PROXIES is how many of them append to it (the client is
    # that many entries from the right). 0 (no proxy; gunicorn faces clients) means REMOTE_ADDR only.
    # Never leave it unset: DRF would then key on the whole client-supplied header, and every login attempt
    # with a new made-up X-Forwarded-For would get a fresh allowance.
    "NUM_PROXIES": NUM_PROXIES,
}

# The OpenAPI schema and its docs pages: public on a laptop, for authenticated users in production (the
# schema maps every endpoint and field, which is nobody else's business). See voucher_service.api.permissions.
API_SCHEMA_PUBLIC = env_bool("API_SCHEMA_PUBLIC", default=LOCAL)

# bench/ only: mounts POST /api/v1/bench/baseline/ (voucher_service.api.baseline), the cheapest authenticated
# write, which the benchmarks measure every endpoint against. Never on in production.
BENCH_BASELINE_ENDPOINT = env_bool("BENCH_BASELINE_ENDPOINT", default=False)

SPECTACULAR_SETTINGS = {
    "TITLE": "voucher_service API",
    "DESCRIPTION": (
        "Compute voucher (算力券) issuance and redemption ledger. Money is sent and returned as decimal "
        "strings in 元 (yuan) with at most two decimals; it is stored as integer 分 (fen)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["voucher_service.api.permissions.SchemaAccess"],
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
        "ServiceTypesEnum": "voucher_service.programs.models.ServiceType",
        "ClaimStatusEnum": "voucher_service.claims.models.ClaimStatus",
        "DecisionEnum": "voucher_service.claims.models.Decision",
        "ObjectionStatusEnum": "voucher_service.claims.models.ObjectionStatus",
        "PayoutStatusEnum": "voucher_service.claims.models.PayoutStatus",
        "ClawbackReasonEnum": "voucher_service.claims.models.ClawbackReason",
    },
}

# --- Bounds -----------------------------------------------------------------------------------------------
# Every input and every piece of kept state has a limit, set here (each listed in .env.example, each tested at
# its edge). A request body (JSON, or a form's fields other than its files) over REQUEST_BODY_MAX_BYTES is a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_BODY_MAX_BYTES", 2_621_440)  # Django's default, 2.5 MiB
# Uploaded files: one claim evidence file, one bulk-issuance CSV (a larger one is a 400 naming the file).
EVIDENCE_UPLOAD_MAX_BYTES = env_int("EVIDENCE_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
BULK_UPLOAD_MAX_BYTES = env_int("BULK_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
# Lists: ?limit= from 1 to API_MAX_PAGE_SIZE (a larger one is a 400), API_PAGE_SIZE when not given.
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 200)

# Auditor reports (voucher_service.reports): an export of up to REPORTS_EXPORT_SYNC_MAX_ROWS rows streams in the
# request; a larger one runs as a Celery task that writes the file to the default storage, downloadable for
# REPORTS_EXPORT_TTL_HOURS. No export is larger than REPORTS_EXPORT_MAX_ROWS rows (narrow the filters instead).
REPORTS_EXPORT_SYNC_MAX_ROWS = env_int("REPORTS_EXPORT_SYNC_MAX_ROWS", 20_000)
REPORTS_EXPORT_MAX_ROWS = env_int("REPORTS_EXPORT_MAX_ROWS", 5_000_000)
REPORTS_EXPORT_TTL_HOURS = env_int("REPORTS_EXPORT_TTL_HOURS", 24)

# API tokens: how long a new token lives. A day: a client logs in again each day, and a leaked token is
# useless by the next one (a password change revokes them all at once).
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24)

# Idempotency-Key records are kept this long, then purged by a beat job (Stripe keeps keys 24 hours): a retry
# within the period replays the first answer; after it the same key is a new request.
IDEMPOTENCY_KEY_RETENTION_HOURS = env_int("IDEMPOTENCY_KEY_RETENTION_HOURS", 24)

# --- Email (notifications) ---------------------------------------------------------------------------------
# Notifications are emailed through Django's email backend: printed to the console in local mode, sent by SMTP
# in production (the EMAIL_* variables). PORTAL_BASE_URL starts the links in the emails.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend" if LOCAL else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@localhost")
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL") or (
    "http://127.0.0.1:8000" if LOCAL else f"https://{(ALLOWED_HOSTS or ['localhost'])[0].lstrip('.')}"
)

# --- Celery ------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
_celery_dir = DATA_DIR / "celery"
if not CELERY_BROKER_URL:
    # Embedded: a broker on the local filesystem. The worker and beat started by `make run` are real Celery
    # processes reading these folders, so the same task code and the same schedule run without Redis.
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
    # A message a worker took and never acknowledged (the worker was killed) is delivered again after this long.
    # Longer than the hard task time limit, so a task still running is never delivered twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("BROKER_VISIBILITY_TIMEOUT_SECONDS", 3600)}
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)

# Tasks are idempotent and take ids, so re-delivery after a crash is safe: ack only after the work is done.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 7 * 24 * 3600
# No task's result is read: each records its outcome in the database. Storing none also keeps a send from
# touching the result backend, which with Redis down made every send (so every request that queues work) wait
# about 20 s for the backend to give up reconnecting (tests/faults/test_redis_stopped.py). ``ping`` (the
# worker round-trip test) asks for its result itself.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# No task runs for ever: past the soft limit it is interrupted (SoftTimeLimitExceeded: its transaction rolls back,
# nothing is half-written), past the hard limit its worker process is killed and replaced. Either way the task
# fails and its message is acknowledged (no endless redelivery); the sweepers resend what is still to do. The
# longest task is a background export of REPORTS_EXPORT_MAX_ROWS rows.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("TASK_SOFT_TIME_LIMIT_SECONDS", 1800)
CELERY_TASK_TIME_LIMIT = env_int("TASK_TIME_LIMIT_SECONDS", 1860)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("TASK_TIME_LIMIT_SECONDS must be larger than TASK_SOFT_TIME_LIMIT_SECONDS.")
_visibility_timeout = CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
if isinstance(_visibility_timeout, int) and _visibility_timeout <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("BROKER_VISIBILITY_TIMEOUT_SECONDS must be larger than TASK_TIME_LIMIT_SECONDS.")
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
    if LOCAL:
        PERSONAL_ID_HMAC_KEY = SECRET_KEY
    else:
        raise ImproperlyConfigured(
            "PERSONAL_ID_HMAC_KEY must be set when DATABASE_URL is set (production), and never change once set."
        )

# --- Ledger seals -----------------------------------------------------------------------------------------
# The sealer signs each new chain head with HMAC-SHA256 under this key, which lives in the environment and never
# in the database: whoever can write the database but does not hold the key cannot rewrite sealed history
# without verify_ledger noticing. Required in production. Embedded/DEBUG: a random key in a file under DATA_DIR,
# created on first use (ledger.signing). Rotation: put the new key here and the old one in
# LEDGER_SIGNING_KEYS_RETIRED (comma-separated), which only verifies old seals (README, "Security").
LEDGER_SIGNING_KEY = os.environ.get("LEDGER_SIGNING_KEY", "")
LEDGER_SIGNING_KEYS_RETIRED = env_list("LEDGER_SIGNING_KEYS_RETIRED")
LEDGER_SIGNING_KEY_FILE = DATA_DIR / "ledger-signing.key"
if not LEDGER_SIGNING_KEY and not LOCAL:
    raise ImproperlyConfigured("LEDGER_SIGNING_KEY must be set when DATABASE_URL is set (production).")
# Each commit that posts an entry sends a (debounced) ``ledger.seal`` task. Off only where another process seals
# (the ledger benchmark's sealer); beat and verify_ledger seal whatever is left either way.
LEDGER_SEAL_ON_COMMIT = env_bool("LEDGER_SEAL_ON_COMMIT", default=True)

# --- Database roles -----------------------------------------------------------------------------------------
# DATABASE_URL is the application's role, which owns no table (it cannot disable a trigger, truncate or alter);
# DATABASE_OWNER_URL, given to the one-shot migrate step only, owns the schema. `manage.py migrate` uses it when
# set, and then grants the application's role what it needs and no more (voucher_service.database_roles).
DATABASE_OWNER_URL = os.environ.get("DATABASE_OWNER_URL", "")
if DATABASE_OWNER_URL and not EMBEDDED:
    DATABASES["owner"] = {
        **dj_database_url.parse(DATABASE_OWNER_URL, conn_max_age=0),
        # Tests never use it; should it be set while they run, it is the default database under another name.
        "TEST": {"MIRROR": "default"},
    }

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

# --- Directories ---------------------------------------------------------------------------------------------
# Created when Django starts (``voucher_service.apps``), not when this module is imported: a settings import
# (mypy, makemigrations --check, a test collecting) writes nothing.
LOCAL_DIRECTORIES = (
    [DATA_DIR, *(_celery_dir / sub for sub in ("queue", "processed", "results", "control"))]
    if CELERY_BROKER_URL == "filesystem://"
    else ([DATA_DIR] if EMBEDDED else [])
)
