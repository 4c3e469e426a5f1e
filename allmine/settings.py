"""Settings for Allmine Live, read from the environment (django-environ).

Development defaults let `make run` work on any machine with no configuration.
Production (`DJANGO_ENV=production`) turns the hardening on and refuses to start
without real secrets; see `allmine/checks.py`.
"""

from datetime import timedelta
from decimal import Decimal
from math import prod as _prod
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production", "test"}:
    raise environ.ImproperlyConfigured(
        f"DJANGO_ENV must be development, production or test, not {DJANGO_ENV!r}"
    )
PRODUCTION = DJANGO_ENV == "production"

# A development key is only ever used outside production: the system check in
# allmine/checks.py refuses to start production with it.
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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
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
# Media (thumbnails, profile photos and their variants) on the local file system by
# default, or on any S3-compatible store with STORAGE_BACKEND=s3.
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")
if STORAGE_BACKEND == "local":
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif STORAGE_BACKEND == "s3":
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            # The public or CDN host the media are served from, e.g. cdn.example.com.
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default=None),
            "url_protocol": env.str("AWS_S3_URL_PROTOCOL", default="https:"),
            "location": env.str("AWS_LOCATION", default=""),
            "querystring_auth": False,
            "file_overwrite": False,
            "default_acl": None,
        },
    }
else:
    raise environ.ImproperlyConfigured(
        f"STORAGE_BACKEND must be local or s3, not {STORAGE_BACKEND!r}"
    )
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

# Uploaded images (thumbnails, profile photos).
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=40_000_000)
IMAGE_MAX_EDGE = env.int("IMAGE_MAX_EDGE", default=2048)
PROFILE_PHOTO_VARIANT_SIZES = env.list("PROFILE_PHOTO_VARIANT_SIZES", cast=int, default=[40, 76])

# --- Cache (Redis when REDIS_URL is set: shared by every app server) ------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "allmine",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Request rates: per user on joins, renewals and creates, per client address on
# sign-in and sign-up. DRF's notation: "<count>/<second|minute|hour|day>".
API_THROTTLE_RATES = {
    "join": env.str("THROTTLE_JOIN", default="60/minute"),
    "renew": env.str("THROTTLE_RENEW", default="30/minute"),
    "create": env.str("THROTTLE_CREATE", default="10/minute"),
    "login": env.str("THROTTLE_LOGIN", default="10/minute"),
    "register": env.str("THROTTLE_REGISTER", default="5/minute"),
}

# --- CORS (the web app) -----------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"

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

# --- Agora --------------------------------------------------------------------


def _within(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise environ.ImproperlyConfigured(f"{name} must be between {low} and {high}.")


# Placeholders are for development only: allmine/checks.py warns about them in
# development and refuses to start production with them.
AGORA_PLACEHOLDER_APP_ID = "0" * 32
AGORA_PLACEHOLDER_APP_CERTIFICATE = "f" * 32
AGORA_APP_ID = env.str("AGORA_APP_ID", default="" if PRODUCTION else AGORA_PLACEHOLDER_APP_ID)
AGORA_APP_CERTIFICATE = env.str(
    "AGORA_APP_CERTIFICATE", default="" if PRODUCTION else AGORA_PLACEHOLDER_APP_CERTIFICATE
)
AGORA_TOKEN_TTL = env.int("AGORA_TOKEN_TTL", default=3600)
# 006 (AccessToken, the default) or 007 (AccessToken2: RTC SDK 4.x, Signaling 2.x).
AGORA_TOKEN_VERSION = env.str("AGORA_TOKEN_VERSION", default="006")
if AGORA_TOKEN_VERSION not in {"006", "007"}:
    raise environ.ImproperlyConfigured("AGORA_TOKEN_VERSION must be 006 or 007.")
# Agora's Notification Center posts events to /api/v1/agora/events, signed with
# the secret of the product's NCS configuration (RTC channel events; Cloud
# Recording's, if its secret differs); empty refuses every notice with a 401.
AGORA_NCS_SECRET = env.str("AGORA_NCS_SECRET", default="")
AGORA_NCS_RECORDING_SECRET = env.str("AGORA_NCS_RECORDING_SECRET", default="")
# Notices (and the per-user event order) older than this many days are deleted.
AGORA_NOTICE_RETENTION_DAYS = env.int("AGORA_NOTICE_RETENTION_DAYS", default=30)
_within("AGORA_NOTICE_RETENTION_DAYS", AGORA_NOTICE_RETENTION_DAYS, 1, 3650)
# Agora's REST API (console, RESTful API): kicks, recordings, channel lists. Every
# call runs in a background task, never in a request.
AGORA_CUSTOMER_KEY = env.str("AGORA_CUSTOMER_KEY", default="")
AGORA_CUSTOMER_SECRET = env.str("AGORA_CUSTOMER_SECRET", default="")
AGORA_REST_BASE_URL = env.str("AGORA_REST_BASE_URL", default="https://api.agora.io").rstrip("/")
if not AGORA_REST_BASE_URL.startswith(("https://", "http://")):
    raise environ.ImproperlyConfigured("AGORA_REST_BASE_URL must be an http(s) URL.")
# Seconds a REST call may take; the kicking rule's POST has its own (Agora asks
# for at least 20 s; a retry after a timeout waits up to three times longer).
AGORA_REST_TIMEOUT = env.float("AGORA_REST_TIMEOUT", default=10.0)
_within("AGORA_REST_TIMEOUT", AGORA_REST_TIMEOUT, 0.1, 60)
AGORA_KICK_TIMEOUT = env.float("AGORA_KICK_TIMEOUT", default=20.0)
_within("AGORA_KICK_TIMEOUT", AGORA_KICK_TIMEOUT, 20, 60)
# How long a kicked user stays out (minutes, 1 to 1440): by default until the
# token they hold has expired. Lifting the ban deletes the rule before that.
AGORA_KICK_MINUTES = env.int(
    "AGORA_KICK_MINUTES", default=max(1, min(1440, -(-AGORA_TOKEN_TTL // 60)))
)
_within("AGORA_KICK_MINUTES", AGORA_KICK_MINUTES, 1, 1440)
# Presence expires without a join, renewal or Agora event for TIMEOUT seconds
# (apps renew before their token expires); with the REST API, Agora's channel
# lists are read too (docs/deploy.md: Agora settings).
AGORA_PRESENCE_TIMEOUT = env.int("AGORA_PRESENCE_TIMEOUT", default=AGORA_TOKEN_TTL + 600)
AGORA_PRESENCE_GRACE = env.int("AGORA_PRESENCE_GRACE", default=60)
AGORA_PRESENCE_CHANNELS_PER_RUN = env.int("AGORA_PRESENCE_CHANNELS_PER_RUN", default=100)
AGORA_PRESENCE_QPS = env.float("AGORA_PRESENCE_QPS", default=10.0)
_within("AGORA_PRESENCE_TIMEOUT", AGORA_PRESENCE_TIMEOUT, 60, 7 * 86400)
_within("AGORA_PRESENCE_GRACE", AGORA_PRESENCE_GRACE, 0, 3600)
_within("AGORA_PRESENCE_QPS", AGORA_PRESENCE_QPS, 0.1, 20)
# Cloud Recording of streams created with `recording: true` (needs the REST API):
# Agora uploads to our object storage, by default the media bucket of
# STORAGE_BACKEND=s3 (docs/deploy.md: Agora settings).
_S3 = DEFAULT_STORAGE.get("OPTIONS", {})
AGORA_RECORDING_STORAGE_BUCKET = env.str(
    "AGORA_RECORDING_STORAGE_BUCKET", default=_S3.get("bucket_name") or ""
)
AGORA_RECORDING_STORAGE_ACCESS_KEY = env.str(
    "AGORA_RECORDING_STORAGE_ACCESS_KEY", default=_S3.get("access_key") or ""
)
AGORA_RECORDING_STORAGE_SECRET_KEY = env.str(
    "AGORA_RECORDING_STORAGE_SECRET_KEY", default=_S3.get("secret_key") or ""
)
AGORA_RECORDING_STORAGE_ENDPOINT = env.str(
    "AGORA_RECORDING_STORAGE_ENDPOINT", default=_S3.get("endpoint_url") or ""
)
AGORA_RECORDING_STORAGE_VENDOR = env.int(
    "AGORA_RECORDING_STORAGE_VENDOR", default=11 if AGORA_RECORDING_STORAGE_ENDPOINT else 1
)
AGORA_RECORDING_STORAGE_REGION = env.int("AGORA_RECORDING_STORAGE_REGION", default=0)
AGORA_RECORDING_FILE_PREFIX = [
    p for p in env.str("AGORA_RECORDING_FILE_PREFIX", default="recordings").split("/") if p
]
AGORA_RECORDING_BUCKET_LOCATION = [p for p in (_S3.get("location") or "").split("/") if p]
_prefix = AGORA_RECORDING_BUCKET_LOCATION + AGORA_RECORDING_FILE_PREFIX
if not all(p.isascii() and p.isalnum() for p in _prefix) or len("/".join(_prefix)) > 100:
    raise environ.ImproperlyConfigured(
        "AGORA_RECORDING_FILE_PREFIX and AWS_LOCATION may hold only letters, digits and "
        "slashes (Agora's fileNamePrefix), 100 characters in all."
    )
AGORA_RECORDING_PUBLIC_BASE_URL = env.str("AGORA_RECORDING_PUBLIC_BASE_URL", default="")
AGORA_RECORDING_PUBLIC_BASE_URL = AGORA_RECORDING_PUBLIC_BASE_URL.rstrip("/")
# The replay plays "hls" (an .m3u8 playlist) or "mp4" (both recorded, MP4 played).
AGORA_RECORDING_FORMAT = env.str("AGORA_RECORDING_FORMAT", default="hls")
if AGORA_RECORDING_FORMAT not in {"hls", "mp4"}:
    raise environ.ImproperlyConfigured("AGORA_RECORDING_FORMAT must be hls or mp4.")
_size = env.str("AGORA_RECORDING_RESOLUTION", default="720x1280")
AGORA_RECORDING_RESOLUTION = tuple(int(n) for n in _size.split("x") if n.isdigit())
if (
    len(AGORA_RECORDING_RESOLUTION) != 2
    or not 256 <= _prod(AGORA_RECORDING_RESOLUTION) <= 1920 * 1080
):
    raise environ.ImproperlyConfigured(
        "AGORA_RECORDING_RESOLUTION: <width>x<height>, to 1920x1080."
    )
AGORA_RECORDING_BITRATE = env.int("AGORA_RECORDING_BITRATE", default=1130)  # Kbps
# Agora ends a recording after MAX_IDLE_SECONDS without a broadcaster (the host
# coming back starts another); a stop waits up to 20 s for the upload.
AGORA_RECORDING_MAX_IDLE_SECONDS = env.int("AGORA_RECORDING_MAX_IDLE_SECONDS", default=300)
_within("AGORA_RECORDING_MAX_IDLE_SECONDS", AGORA_RECORDING_MAX_IDLE_SECONDS, 5, 2_592_000)
AGORA_RECORDING_CHECK_SECONDS = env.int("AGORA_RECORDING_CHECK_SECONDS", default=300)
AGORA_RECORDING_TIMEOUT = env.float("AGORA_RECORDING_TIMEOUT", default=30.0)
_within("AGORA_RECORDING_TIMEOUT", AGORA_RECORDING_TIMEOUT, 0.1, 120)
AGORA_RECORDING_UPLOAD_WAIT_MINUTES = env.int("AGORA_RECORDING_UPLOAD_WAIT_MINUTES", default=60)
# The Signaling (RTM) user id the server publishes channel messages as.
AGORA_RTM_SERVER_USER_ID = env.str("AGORA_RTM_SERVER_USER_ID", default="allmine-server")

# --- Background work (Celery) ------------------------------------------------
# Workers run what must not wait in a request (every call to Agora's REST APIs)
# and, with exactly one `celery beat`, the periodic jobs; Redis is the broker.
# With no broker (plain `make run`) every task runs in the web process, after
# the commit that asked for it, and a failing task never fails the request.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True  # the jobs' state is in our own tables
CELERY_RESULT_BACKEND = None
# Acknowledged when done: a task of a worker that dies is run by another (the
# tasks are idempotent); one task at a time per worker process.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TASK_SOFT_TIME_LIMIT, CELERY_TASK_TIME_LIMIT = 300, 360
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# One schedule for any number of web and worker nodes (run one beat). Each job
# also takes a lock, so an overlap (a slow run, a second beat, the staff command
# by hand) only does nothing.
CELERY_BEAT_SCHEDULE = {
    "expire-streams": {"task": "livestreams.expire_streams", "schedule": 300.0},
    "end-overdue-streams": {"task": "livestreams.end_overdue_streams", "schedule": 300.0},
    "settle-replay-revenue": {
        "task": "livestreams.settle_replay_revenue",
        "schedule": crontab(minute=17),
    },
    "retry-agora-kicks": {"task": "livestreams.retry_agora_kicks", "schedule": 60.0},
    "retry-agora-recordings": {"task": "livestreams.retry_agora_recordings", "schedule": 60.0},
    "reconcile-presence": {"task": "livestreams.reconcile_presence", "schedule": 60.0},
    "prune-agora-notices": {
        "task": "livestreams.prune_agora_notices",
        "schedule": crontab(hour=3, minute=41),
    },
}

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
LIVESTREAM_DEFAULT_THUMBNAIL = "livestreams/default-thumbnail.png"
# A scheduled stream nobody started expires this long after its planned start.
LIVESTREAM_START_GRACE_MINUTES = env.int("LIVESTREAM_START_GRACE_MINUTES", default=30)
# An active stream is ended this long after its planned end, or, without a planned
# end, this many hours after it started.
LIVESTREAM_OVERDUE_GRACE_MINUTES = env.int("LIVESTREAM_OVERDUE_GRACE_MINUTES", default=60)
LIVESTREAM_MAX_DURATION_HOURS = env.int("LIVESTREAM_MAX_DURATION_HOURS", default=12)
REPLAY_RENTAL_HOURS = 24
# Revenue shares of stream charges and replay rentals; the platform keeps the rest.
REVENUE_SHARE_SOLO_CREATOR = Decimal(env.str("REVENUE_SHARE_SOLO_CREATOR", default="0.80"))
REVENUE_SHARE_DUO_CREATOR = Decimal(env.str("REVENUE_SHARE_DUO_CREATOR", default="0.40"))
REVENUE_SHARE_DUO_GUESTS = Decimal(env.str("REVENUE_SHARE_DUO_GUESTS", default="0.40"))
# How many reverse proxies (load balancers) stand in front of the app and append
# to X-Forwarded-For; 0 means the peer address is the client's.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- OpenAPI and the playground -------------------------------------------------
API_SERVERS = [
    {
        "url": env.str("API_PRODUCTION_URL", default="https://api.allmine.example"),
        "description": "Production",
    },
    {"url": env.str("API_DEVELOPMENT_URL", default=PUBLIC_BASE_URL), "description": "Development"},
]
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
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": ["allmine.apidocs.schema.postprocess_schema"],
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
