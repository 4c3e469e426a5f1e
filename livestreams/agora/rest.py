"""Agora's RESTful API: one small client with one base URL
(`AGORA_REST_BASE_URL`), Basic authentication with the customer key and secret,
and explicit timeouts. Every failure is an `AgoraRestError`; callers decide
whether and when to try again.
"""

import base64
import http.client
import json
import urllib.error
import urllib.request

from django.conf import settings

MAX_RESPONSE_BYTES = 64 * 1024


class AgoraRestError(Exception):
    """Agora's REST API did not do what was asked: unreachable, slow, or refused."""


def is_configured() -> bool:
    return bool(settings.AGORA_CUSTOMER_KEY and settings.AGORA_CUSTOMER_SECRET)


def post(path: str, body: dict) -> dict:
    """POST `body` as JSON to `path` under AGORA_REST_BASE_URL; the answer's JSON object."""
    credentials = f"{settings.AGORA_CUSTOMER_KEY}:{settings.AGORA_CUSTOMER_SECRET}"
    headers = {
        "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    url = settings.AGORA_REST_BASE_URL + path
    if not url.startswith(("https://", "http://")):
        raise AgoraRestError("AGORA_REST_BASE_URL must be an http(s) URL.")
    try:
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers=headers,
        )
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=settings.AGORA_REST_TIMEOUT
        ) as response:
            raw = response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        try:
            detail = exc.read(500).decode("utf-8", "replace") if exc.fp else ""
        except (OSError, http.client.HTTPException):
            detail = ""
        raise AgoraRestError(f"HTTP {exc.code} from Agora: {short(detail)}") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # URLError, timeouts and refused connections are OSErrors; a malformed
        # AGORA_REST_BASE_URL is a ValueError.
        reason = getattr(exc, "reason", exc)
        raise AgoraRestError(f"Agora unreachable: {type(reason).__name__}: {reason}") from None
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        raise AgoraRestError(f"Agora answered with something not JSON: {short(raw)}") from None
    if not isinstance(answer, dict):
        raise AgoraRestError(f"Agora answered with something unexpected: {short(answer)}")
    return answer


def short(value, limit: int = 200) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "…"
