"""gunicorn settings for Allmine Live: `gunicorn -c gunicorn.conf.py allmine.wsgi`.

Every value can be overridden from the environment (GUNICORN_* or the names below).
In production gunicorn runs behind a reverse proxy (docs/deploy.md, nginx) whose
limits are stricter than the ones below, so that the proxy answers an oversized or
malformed request itself; whatever gunicorn still refuses is answered in the API's
envelope too (`envelope_error`, at the end of this file).
"""

import json
import multiprocessing
import os
import sys
from datetime import UTC, datetime

import gunicorn.util

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from allmine.core.errors import error_text  # (needs no Django settings)

# Loopback by default: only a proxy on the same machine reaches it. Behind a load
# balancer on another host, set GUNICORN_BIND=0.0.0.0:8000.
bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
# Threads let a worker overlap the database round trips of several requests.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Restart workers now and then so that a slow leak never grows unbounded.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# Our own request log (allmine.core.middleware.RequestLogMiddleware) is the access log.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The load balancer's X-Forwarded-* headers are trusted from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
preload_app = True

# --- Request limits (set deliberately, not left to the defaults) ------------------
# The longest URL the apps and the admin send is a filtered list, a few hundred
# bytes; the proxy refuses request lines over 4 KB (414) before they reach us, so
# gunicorn takes up to its maximum and never answers first.
limit_request_line = 8190
# An app sends about 15 headers; a browser on the admin about 20.
limit_request_fields = 100
# The largest header is the Authorization bearer token (about 400 bytes) or the
# admin's cookies; the proxy refuses any header line over 4 KB first.
limit_request_field_size = 8190


# --- gunicorn's own error answers, in the envelope -----------------------------------
# gunicorn answers a request it cannot parse (400), a request line or headers over
# the limits above (414, 431) or an application crash it catches (500) itself,
# before Django, with a small HTML page; gunicorn has no setting for that page, so
# its writer is replaced here by one that writes the API's envelope (the apps read
# JSON whatever the status). The details never echo what was sent.
GUNICORN_ERROR_DETAILS = {
    400: "The request line or a header is malformed.",
    403: "The request is not allowed.",
    414: "The request line is too long.",
    417: "The Expect header cannot be met.",
    431: "The request has too many headers, or one that is too large.",
    501: "The transfer coding is not supported.",
}


def envelope_error(sock, status_int: int, reason: str, mesg: str) -> None:
    detail = GUNICORN_ERROR_DETAILS.get(status_int)
    now = datetime.now(UTC)
    body = json.dumps(
        {
            "isSuccess": False,
            "statusCode": status_int,
            "data": None,
            "errors": [error_text(status_int), *([detail] if detail else [])],
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        },
        separators=(",", ":"),
    )
    response = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
        f"{body}"
    )
    gunicorn.util.write_nonblock(sock, response.encode("latin-1"))


gunicorn.util.write_error = envelope_error
