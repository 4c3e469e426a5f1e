"""Settings for Allmine Live, read from the environment (django-environ).

Development defaults let `make run` work on any machine with no configuration.
Production (`DJANGO_ENV=production`) turns the hardening on and refuses to start
without real secrets; see `allmine/core/checks.py`.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF

# The paths, the environment, DJANGO_ENV, Redis and the media storage: shared with
# the modules per concern (agora.py, background.py).
from allmine.settings.base import (
    BASE_DIR,
    DEFAULT_STORAGE,
    DJANGO_ENV,
    PRODUCTION,
    REDIS_URL,
    STORAGE_BACKEND,
    VAR_DIR,
    env,
)

# A development key is only ever used outside production: the system check in
# allmine/core/checks.py refuses to start production with it.
DEV_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else DEV_SECRET_KEY)
if PRODUCTION and not SECRET_KEY:
    raise environ.ImproperlyConfigured("SECRET_KEY must be set in production.")
DEBUG = env.bool("DEBUG", default=not PRODUCTION and DJANGO_ENV != "test")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public address of this service, used to build the absolute URLs of media
# and of the default thumbnail in API responses (never taken from the Host header).
PUBLIC_BASE_URL = env.url("PUBLIC_BASE_URL", default="http://localhost:8000").geturl().rstrip("/")

INSTALLED_APPS = [
    "allmine.core.apps.AllmineAdminConfig",  # django.contrib.admin, with Allmine's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allmine.core",
    "accounts",
    "livestreams",
]

MIDDLEWARE = [
    "allmine.core.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "allmine.core.middleware.ApiEnvelopeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "allmine.core.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "allmine.urls"
WSGI_APPLICATION = "allmine.wsgi.application"
ASGI_APPLICATION = "allmine.asgi.application"

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
            ],
            # `capfirst` that knows the Turkish dotted İ (allmine/core/templatetags).
            "builtins": ["allmine.core.templatetags.allmine_text"],
        },
    },
]

# --- Database -----------------------------------------------------------------
# SQLite is the embedded default; PostgreSQL (production, CI) via DATABASE_URL.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
elif env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    # PostgreSQL: parameters bound by the server, and the statements a connection
    # runs again and again (each request's user, a join's flags and insert)
    # prepared after their fifth run, so that PostgreSQL parses and plans them once
    # per connection instead of once per query: it halved PostgreSQL's CPU per join
    # (bench/README.md). Django leaves both off by default: server-side binding
    # because some queries are not compatible with it (the whole test suite runs
    # with it), prepared statements because a transaction-pooling PgBouncer before
    # 1.21 cannot keep them: set DATABASE_PREPARED_STATEMENTS=false behind one.
    # psycopg forgets a connection's prepared statements on every rollback (a
    # refused paid join, say); they are prepared again after five more runs.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("server_side_binding", True)
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if DJANGO_ENV == "test":
    # Hashing speed is not what the tests measure.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Internationalisation -----------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("tr", "Türkçe")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files ---------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing one
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Media on the local file system or an S3-compatible store: STORAGE_BACKEND (base.py).
STORAGES = {
    "default": DEFAULT_STORAGE,
    # Hashed, compressed names in production (run collectstatic); plain in development.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Whole-request ceiling: a bigger body is refused with 413 before it is read.
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=12 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Uploaded images (thumbnails, profile photos); see allmine/core/images.py. A
# thumbnail may declare up to IMAGE_MAX_PIXELS (the contract's 40 MP), a profile
# photo up to PROFILE_PHOTO_MAX_PIXELS; whatever it declares, no image is decoded to
# more than IMAGE_MAX_DECODE_PIXELS (a JPEG decodes at a reduced scale; a PNG or a
# WebP decodes whole, so it must fit), which bounds a worker's memory per upload.
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=40_000_000)
IMAGE_MAX_EDGE = env.int("IMAGE_MAX_EDGE", default=2048)
IMAGE_MAX_DECODE_PIXELS = env.int("IMAGE_MAX_DECODE_PIXELS", default=4096 * 4096)
PROFILE_PHOTO_MAX_PIXELS = env.int("PROFILE_PHOTO_MAX_PIXELS", default=16_000_000)
PROFILE_PHOTO_MAX_EDGE = env.int("PROFILE_PHOTO_MAX_EDGE", default=1024)
if IMAGE_MAX_DECODE_PIXELS < (2 * IMAGE_MAX_EDGE) ** 2:
    # A JPEG of any size must fit once decoded at the draft scale the stored edge needs.
    raise environ.ImproperlyConfigured(
        "IMAGE_MAX_DECODE_PIXELS must be at least (2 x IMAGE_MAX_EDGE) squared."
    )
PROFILE_PHOTO_VARIANT_SIZES = env.list("PROFILE_PHOTO_VARIANT_SIZES", cast=int, default=[40, 76])

# --- Cache (Redis when REDIS_URL is set: shared by every app server) ------------
# REDIS_URL: base.py.
# Short timeouts (seconds): a hung Redis (accepts, never answers) must cost
# milliseconds, and throttling then skips it for a while (allmine/core/throttling.py).
# A Redis on the same network answers in well under a millisecond.
REDIS_CACHE_OPTIONS = {
    "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.05),
    "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=0.1),
}
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis cache, its clients made once (allmine/core/cache.py).
            "BACKEND": "allmine.core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "allmine",
            "OPTIONS": REDIS_CACHE_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# After the cache fails (Redis down or hung), throttling stops asking it for this
# many seconds and serves unthrottled (fails open) meanwhile.
THROTTLE_CACHE_RETRY_SECONDS = env.float("THROTTLE_CACHE_RETRY_SECONDS", default=10.0)

# Request rates: per user on joins, renewals, creates, image uploads, gifts and
# reports, per client address on sign-in and sign-up. DRF's notation:
# "<count>/<second|minute|hour|day>".
API_THROTTLE_RATES = {
    "join": env.str("THROTTLE_JOIN", default="60/minute"),
    "renew": env.str("THROTTLE_RENEW", default="30/minute"),
    "create": env.str("THROTTLE_CREATE", default="10/minute"),
    # Image uploads per user (a create with a thumbnail, a profile photo), both rates.
    "upload_burst": env.str("THROTTLE_UPLOAD_BURST", default="5/minute"),
    "upload": env.str("THROTTLE_UPLOAD", default="30/hour"),
    "login": env.str("THROTTLE_LOGIN", default="10/minute"),
    "register": env.str("THROTTLE_REGISTER", default="5/minute"),
    "gifts": env.str("THROTTLE_GIFTS", default="30/minute"),
    "reports": env.str("THROTTLE_REPORTS", default="10/hour"),
    # API-more §6.5: chat messages per user and stream, superlikes per user.
    "chat": env.str("THROTTLE_CHAT", default="20/minute"),
    "superlikes": env.str("THROTTLE_SUPERLIKES", default="10/minute"),
}

# Failed sign-ins per account (the API's and the admin's alike; see
# accounts/services/auth.py): after this many within the window (seconds), the
# account's sign-in is refused until the window ends, except from an address it
# signed in from successfully within LOGIN_KNOWN_ADDRESS_DAYS.
LOGIN_ACCOUNT_MAX_FAILURES = env.int("LOGIN_ACCOUNT_MAX_FAILURES", default=10)
LOGIN_ACCOUNT_FAILURE_WINDOW = env.int("LOGIN_ACCOUNT_FAILURE_WINDOW", default=15 * 60)
LOGIN_KNOWN_ADDRESS_DAYS = env.int("LOGIN_KNOWN_ADDRESS_DAYS", default=30)

# --- CORS (the web app) -----------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
# The lists answered as arrays carry their paging in these headers (API-more §14).
CORS_EXPOSE_HEADERS = ["X-Total-Count", "Link"]

# --- Security -----------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["allmine.core.envelope.EnvelopeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "allmine.core.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "allmine.core.exception_handler.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "allmine.apidocs.schema.EnvelopeAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": False,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=3600),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=30),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "CHECK_USER_IS_ACTIVE": True,
}

# --- Agora, and the background work (Celery) -------------------------------------
# In modules of their own (allmine/settings/agora.py, background.py); they read
# what they share with this module from allmine/settings/base.py.
from allmine.settings.agora import *  # noqa: E402, F403
from allmine.settings.background import *  # noqa: E402, F403

# --- The back office ------------------------------------------------------------
# A moderator's action on more objects than this asks for their number typed.
ADMIN_TYPED_CONFIRMATION_ABOVE = env.int("ADMIN_TYPED_CONFIRMATION_ABOVE", default=20)
if ADMIN_TYPED_CONFIRMATION_ABOVE < 0:
    raise environ.ImproperlyConfigured("ADMIN_TYPED_CONFIRMATION_ABOVE must not be negative.")

# --- Live streams -------------------------------------------------------------
LIVESTREAM_INTERESTS = env.list(
    "LIVESTREAM_INTERESTS",
    default=[
        "music",
        "gaming",
        "sports",
        "education",
        "art",
        "technology",
        "lifestyle",
        "talk",
        "other",
    ],
)
LIVESTREAM_MAX_PRICE = Decimal(env.str("LIVESTREAM_MAX_PRICE", default="10000"))
LIVESTREAM_MAX_FUNDING_GOAL = Decimal(env.str("LIVESTREAM_MAX_FUNDING_GOAL", default="1000000"))
LIVESTREAM_MAX_GUESTS = env.int("LIVESTREAM_MAX_GUESTS", default=8)
# How far ahead a stream may be planned (its plannedStartDate and plannedEndDate, in
# days from now); nothing before 2000 is accepted either (allmine.core.fields).
LIVESTREAM_MAX_SCHEDULE_DAYS = env.int("LIVESTREAM_MAX_SCHEDULE_DAYS", default=365)
if not 1 <= LIVESTREAM_MAX_SCHEDULE_DAYS <= 3650:
    raise environ.ImproperlyConfigured("LIVESTREAM_MAX_SCHEDULE_DAYS must be between 1 and 3650.")
LIVESTREAM_DEFAULT_THUMBNAIL = "livestreams/default-thumbnail.png"
# A scheduled stream nobody started expires this long after its planned start.
LIVESTREAM_START_GRACE_MINUTES = env.int("LIVESTREAM_START_GRACE_MINUTES", default=30)
# An active stream is ended this long after its planned end, or, without a planned
# end, this many hours after it started.
LIVESTREAM_OVERDUE_GRACE_MINUTES = env.int("LIVESTREAM_OVERDUE_GRACE_MINUTES", default=60)
LIVESTREAM_MAX_DURATION_HOURS = env.int("LIVESTREAM_MAX_DURATION_HOURS", default=12)
REPLAY_RENTAL_HOURS = 24
# Who delivers stream reminders (a dotted path to a class with send_reminder());
# the default only logs them until a push provider is configured.
REMINDER_NOTIFIER = env.str("REMINDER_NOTIFIER", default="livestreams.notifiers.LoggingNotifier")
# Gift images: the largest SVG staff may upload (bytes).
GIFT_SVG_MAX_BYTES = env.int("GIFT_SVG_MAX_BYTES", default=200 * 1024)
# The price of one superlike in credits (API-more §8.3): above 0, at most 2 decimals.
SUPERLIKE_PRICE = Decimal(env.str("SUPERLIKE_PRICE", default="10"))
if SUPERLIKE_PRICE <= 0 or SUPERLIKE_PRICE.quantize(Decimal("0.01")) != SUPERLIKE_PRICE:
    raise environ.ImproperlyConfigured("SUPERLIKE_PRICE must be above 0 with at most 2 decimals.")
# Chat messages published live into the stream's Signaling channel: one not sent
# within this many seconds (Agora failing meanwhile) is dropped, not shown late.
CHAT_RTM_MAX_AGE_SECONDS = env.int("CHAT_RTM_MAX_AGE_SECONDS", default=300)
# What the API reads of a stream is cached (in Redis, shared by every node): the
# stream's audience-independent representation for STREAM_CACHE_SECONDS, its viewer
# count for VIEWER_COUNT_CACHE_SECONDS. Every write through the services deletes the
# key when it commits; the lifetimes bound how stale anything else leaves it.
STREAM_CACHE_SECONDS = env.float("STREAM_CACHE_SECONDS", default=5.0)
VIEWER_COUNT_CACHE_SECONDS = env.float("VIEWER_COUNT_CACHE_SECONDS", default=2.0)
# Revenue shares of stream charges and replay rentals; the platform keeps the rest.
REVENUE_SHARE_SOLO_CREATOR = Decimal(env.str("REVENUE_SHARE_SOLO_CREATOR", default="0.80"))
REVENUE_SHARE_DUO_CREATOR = Decimal(env.str("REVENUE_SHARE_DUO_CREATOR", default="0.40"))
REVENUE_SHARE_DUO_GUESTS = Decimal(env.str("REVENUE_SHARE_DUO_GUESTS", default="0.40"))
# How many reverse proxies (load balancers) stand in front of the app and append
# to X-Forwarded-For; 0 means the peer address is the client's.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- OpenAPI and the playground -------------------------------------------------
# The playground (/api/docs/) sends "Try it out" requests to the first server. In
# production that is Production; elsewhere it is Development, by default "/": the
# server the playground was loaded from, whatever host name the browser used.
_production_server = {
    "url": env.str("API_PRODUCTION_URL", default="https://api.allmine.example"),
    "description": "Production",
}
_development_server = {
    "url": env.str("API_DEVELOPMENT_URL", default=PUBLIC_BASE_URL if PRODUCTION else "/"),
    "description": "Development",
}
API_SERVERS = (
    [_production_server, _development_server]
    if PRODUCTION
    else [_development_server, _production_server]
)
SPECTACULAR_SETTINGS = {
    "TITLE": "Allmine Live API",
    "DESCRIPTION": (
        "Live streams on Agora: create, join as creator, guest or audience, fund, "
        "rent replays. Every response is wrapped in the envelope "
        "`{isSuccess, statusCode, data, errors, timestamp}`."
    ),
    "VERSION": "1.0.0",
    "SERVERS": API_SERVERS,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge fetched from swagger.io's validator (and none to allow in the CSP).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "POSTPROCESSING_HOOKS": ["allmine.apidocs.schema.postprocess_schema"],
}

# --- Content-Security-Policy (django-csp) ---------------------------------------
# The admin, its funding chart and the API playground (/api/docs/) load scripts,
# styles and fonts from this site only, with no inline script or style (the
# playground's two inline blocks carry the per-request nonce) and no eval; images
# also from the media host; the playground's "Try it out" may call the servers it
# lists. Nothing may frame a page; forms post only here.


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _sources(*urls: str | None) -> list[str]:
    return list(dict.fromkeys(o for o in map(_origin, filter(None, urls)) if o))


_MEDIA_HOSTS = _sources(
    PUBLIC_BASE_URL,
    (
        f"{DEFAULT_STORAGE['OPTIONS']['url_protocol']}//{DEFAULT_STORAGE['OPTIONS']['custom_domain']}"
        if STORAGE_BACKEND == "s3" and DEFAULT_STORAGE["OPTIONS"]["custom_domain"]
        else None
    ),
    DEFAULT_STORAGE["OPTIONS"]["endpoint_url"] if STORAGE_BACKEND == "s3" else None,
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", *_MEDIA_HOSTS, *env.list("CSP_IMG_SOURCES", default=[])],
        "font-src": [SELF],
        "connect-src": [SELF, *_sources(*(server["url"] for server in API_SERVERS))],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Logging ------------------------------------------------------------------
# One JSON object per line in production (LOG_FORMAT=json), readable lines otherwise.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Client errors (4xx) are answers, not incidents; the API logs its own 5xx.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
