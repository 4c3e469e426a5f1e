"""Issue 10, finding 6: some `/api/` errors came back as HTML: gunicorn's own 414
(request line over 4,094 bytes) and 400 (a control character in a header), and
Django's 400 for a host name not in ALLOWED_HOSTS. Django now answers what it
refuses before a view in the envelope under `/api/` (its own pages elsewhere);
gunicorn's limits are set deliberately and its own refusals are the envelope too.
(tests/security/test_nginx_proxy.py: the proxy in front of it.)"""

import json

import pytest
from django.test import Client, RequestFactory

from allmine.core import views
from allmine.core.errors import ERROR_TEXTS
from tests.api import TIMESTAMP_RE, assert_error
from tests.security.servers import get, raw_request


def assert_raw_envelope(response, status: int, contains: str | None = None) -> list[str]:
    assert response.status == status, (response.status, response.body[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"isSuccess", "statusCode", "data", "errors", "timestamp"}
    assert (body["isSuccess"], body["statusCode"], body["data"]) == (False, status, None)
    assert TIMESTAMP_RE.match(body["timestamp"]), body["timestamp"]
    if contains is not None:
        assert any(contains in entry for entry in body["errors"][1:]), body["errors"]
    return body["errors"]


# --- Django, before any view ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "localhost:99999x"])
def test_a_host_not_allowed_is_a_400_envelope_under_the_api(host):
    response = Client().get("/api/v1/health", HTTP_HOST=host)
    assert_error(response, 400, contains="The Host header names no host this service answers to.")


@pytest.mark.django_db
def test_a_host_not_allowed_on_the_admin_is_djangos_own_page():
    response = Client().get("/admin/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("bad_request", 400),
        ("permission_denied", 403),
        ("page_not_found", 404),
        ("server_error", 500),
    ],
)
def test_every_error_handler_answers_the_envelope_under_the_api(name, status):
    handler = getattr(views, name)
    request = RequestFactory().get("/api/v1/anything")
    response = handler(request) if handler is views.server_error else handler(request, None)
    assert response.status_code == status
    body = json.loads(response.content)
    assert (body["statusCode"], body["data"], body["errors"][0]) == (
        status,
        None,
        ERROR_TEXTS[status],
    )
    admin = RequestFactory().get("/admin/anything")
    page = handler(admin) if handler is views.server_error else handler(admin, None)
    assert page.status_code == status
    assert not page["Content-Type"].startswith("application/json")


# --- gunicorn, as configured ---------------------------------------------------------


@pytest.fixture
def gunicorn(production_gunicorn):
    return production_gunicorn


def test_gunicorn_serves_the_api(gunicorn):
    response = get(gunicorn.port, "/api/v1/health")
    assert response.status == 200 and response.json()["data"]["database"] == "ok"


def test_a_request_line_over_the_limit_is_a_414_envelope(gunicorn):
    response = get(gunicorn.port, "/api/v1/live-stream?q=" + "a" * 9000)
    assert_raw_envelope(response, 414, contains="The request line is too long.")


@pytest.mark.parametrize(
    "value", [b"a\x01b", b"a\x1bb", b"a\x7fb", b"a\x00b"], ids=["soh", "esc", "del", "nul"]
)
def test_a_control_character_in_a_header_is_a_400_envelope(gunicorn, value):
    response = get(gunicorn.port, "/api/v1/health", headers=b"X-Test: " + value + b"\r\n")
    errors = assert_raw_envelope(response, 400, contains="malformed")
    assert errors[0] == "Validation failed"


def test_too_many_headers_is_a_431_envelope(gunicorn):
    many = b"".join(b"X-Header-%d: x\r\n" % n for n in range(101))
    assert_raw_envelope(get(gunicorn.port, "/api/v1/health", headers=many), 431)


def test_a_header_over_the_limit_is_a_431_envelope(gunicorn):
    big = b"X-Big: " + b"b" * 9000 + b"\r\n"
    assert_raw_envelope(get(gunicorn.port, "/api/v1/health", headers=big), 431)


def test_a_malformed_request_line_is_a_400_envelope(gunicorn):
    response = raw_request(gunicorn.port, b"GET /api/v1/health HTTP/9.9\r\nHost: x\r\n\r\n")
    assert_raw_envelope(response, 400)


def test_a_host_not_allowed_through_gunicorn_is_a_400_envelope(gunicorn):
    response = get(gunicorn.port, "/api/v1/health", host="evil.example")
    assert_raw_envelope(response, 400, contains="Host header")
