"""Assertions on what an app sees: the envelope of the contract (§1)."""

import re

from allmine.core.errors import ERROR_TEXTS

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
OBJECT_ID_RE = re.compile(r"^[0-9a-f]{24}$")


ENVELOPE_KEYS = {"isSuccess", "statusCode", "data", "errors", "timestamp"}


def envelope_body(body, status: int):
    """Check a decoded envelope (§1) and return its `data` (success) or `errors`
    (failure): for responses of the test client, of a real server, or printed."""
    assert isinstance(body, dict) and set(body) == ENVELOPE_KEYS, body
    assert body["statusCode"] == status, body
    assert TIMESTAMP_RE.match(body["timestamp"]), body["timestamp"]
    if status < 400:
        assert body["isSuccess"] is True and body["errors"] == [], body
        return body["data"]
    assert body["isSuccess"] is False and body["data"] is None, body
    assert body["errors"][0] == ERROR_TEXTS[status], body["errors"]
    return body["errors"]


def assert_envelope(response, status: int):
    """Check the envelope and return its `data` (success) or `errors` (failure)."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return envelope_body(response.json(), status)


def assert_error(response, status: int, *, contains: str | None = None) -> list[str]:
    errors = assert_envelope(response, status)
    if contains is not None:
        assert any(contains in e for e in errors[1:]), errors
    return errors
