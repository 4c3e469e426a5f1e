"""Agora's RESTful APIs: one small client with one base URL
(`AGORA_REST_BASE_URL`), Basic authentication with the customer key and secret,
and an explicit timeout on every call. Every failure is an `AgoraRestError`
carrying the HTTP status (None when Agora did not answer); callers decide whether
and when to try again. The client never retries by itself: the background jobs
keep their attempts in our own tables.

Why not AgoraIO-Community's `agora-rest-client` (which covers Cloud Recording):
it builds its URLs from Agora's own domains (`api-<region>.agora.io`,
`sd-rtn.com`), picks among them with a DNS probe that runs in a never-ending
background thread started on first use, and has no setting for a base URL. It
can therefore be pointed neither at the local stand-in the tests and the
development server use, nor at a proxy, and a thread that never stops does not
belong in a web or Celery worker process. The calls we need are a handful of
JSON requests; this module is that handful.
"""

import base64
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings

# The channel user list holds up to 10,000 audience uids (about 110 KB).
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
GATEWAY_TIMEOUT = 504

JsonObject = dict[str, Any]


class AgoraRestError(Exception):
    """Agora's REST API did not do what was asked: unreachable, slow, or refused.

    `status` is the HTTP status Agora answered with (None without an answer),
    `timed_out` tells a timeout apart, and `answer` is the JSON object of an
    error answer when there was one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        timed_out: bool = False,
        answer: JsonObject | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.timed_out = timed_out
        self.answer = answer or {}

    @property
    def outcome_unknown(self) -> bool:
        """Agora may have done what was asked although we never heard so: the
        request timed out, or a gateway answered 504 (Agora's advice: read the
        state back before asking again)."""
        return self.timed_out or self.status == GATEWAY_TIMEOUT

    @property
    def not_found(self) -> bool:
        return self.status == 404


def is_configured() -> bool:
    return bool(settings.AGORA_CUSTOMER_KEY and settings.AGORA_CUSTOMER_SECRET)


def quote(segment: str) -> str:
    """A path segment (a channel name, a user id) safely inside a URL."""
    return urllib.parse.quote(segment, safe="")


def get(
    path: str, *, query: dict[str, str] | None = None, timeout: float | None = None
) -> JsonObject:
    return request("GET", path, query=query, timeout=timeout)


def post(path: str, body: JsonObject, *, timeout: float | None = None) -> JsonObject:
    return request("POST", path, body=body, timeout=timeout)


def delete(path: str, body: JsonObject, *, timeout: float | None = None) -> JsonObject:
    return request("DELETE", path, body=body, timeout=timeout)


def request(
    method: str,
    path: str,
    *,
    body: JsonObject | None = None,
    query: dict[str, str] | None = None,
    timeout: float | None = None,
) -> JsonObject:
    """Send one request to `path` under AGORA_REST_BASE_URL; Agora's JSON object.

    `timeout` (seconds, for connecting and for each read) defaults to
    AGORA_REST_TIMEOUT."""
    credentials = f"{settings.AGORA_CUSTOMER_KEY}:{settings.AGORA_CUSTOMER_SECRET}"
    headers = {
        "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
        "Accept": "application/json",
    }
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    url = settings.AGORA_REST_BASE_URL + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    if not url.startswith(("https://", "http://")):
        raise AgoraRestError("AGORA_REST_BASE_URL must be an http(s) URL.")
    wait = settings.AGORA_REST_TIMEOUT if timeout is None else timeout
    try:
        prepared = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url, data=data, method=method, headers=headers
        )
        with urllib.request.urlopen(prepared, timeout=wait) as response:  # noqa: S310
            raw = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise _http_error(exc) from None
    except TimeoutError:
        raise AgoraRestError(
            f"Agora did not answer within {wait:g} s (timed out).", timed_out=True
        ) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # URLError, refused connections and resets are OSErrors; a malformed
        # AGORA_REST_BASE_URL is a ValueError.
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise AgoraRestError(
                f"Agora did not answer within {wait:g} s (timed out).", timed_out=True
            ) from None
        raise AgoraRestError(f"Agora unreachable: {type(reason).__name__}: {reason}") from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise AgoraRestError(f"Agora's answer is larger than {MAX_RESPONSE_BYTES} bytes.")
    answer = _json_object(raw)
    if answer is None:
        raise AgoraRestError(f"Agora answered with something not JSON: {short(raw)}")
    return answer


def _http_error(exc: urllib.error.HTTPError) -> AgoraRestError:
    try:
        detail = exc.read(2000) if exc.fp else b""
    except (OSError, http.client.HTTPException):
        detail = b""
    answer = _json_object(detail) or {}
    return AgoraRestError(
        f"HTTP {exc.code} from Agora: {short(detail)}", status=exc.code, answer=answer
    )


def _json_object(raw: bytes) -> JsonObject | None:
    try:
        value = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def short(value: object, limit: int = 200) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "…"
