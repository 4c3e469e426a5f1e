"""Agora settings: the project's credentials, tokens, the Notification Center,
the REST API (kicks, cloud recording, channel lists, Signaling), presence.

Part of `allmine.settings`, which imports everything this defines; what it reads
(env, PRODUCTION, the storage options) comes from allmine/settings/base.py."""

from math import prod as _prod

import environ

from allmine.settings.base import DEFAULT_STORAGE, PRODUCTION, env

# --- Agora --------------------------------------------------------------------


def _within(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise environ.ImproperlyConfigured(f"{name} must be between {low} and {high}.")


# Placeholders are for development only: allmine/core/checks.py warns about them in
# development and refuses to start production with them.
AGORA_PLACEHOLDER_APP_ID = "0" * 32
AGORA_PLACEHOLDER_APP_CERTIFICATE = "f" * 32
AGORA_APP_ID = env.str("AGORA_APP_ID", default="" if PRODUCTION else AGORA_PLACEHOLDER_APP_ID)
AGORA_APP_CERTIFICATE = env.str(
    "AGORA_APP_CERTIFICATE", default="" if PRODUCTION else AGORA_PLACEHOLDER_APP_CERTIFICATE
)
AGORA_TOKEN_TTL = env.int("AGORA_TOKEN_TTL", default=3600)
# The placeholder warning is logged once by the serving process (runserver,
# gunicorn: allmine.core.checks.refuse_to_start_if_misconfigured), not by every command.
SILENCED_SYSTEM_CHECKS = ["allmine.W001"]
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
