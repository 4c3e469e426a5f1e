"""Issue 10, finding 6: the reverse proxy of docs/deploy.md, run as written there
(TLS replaced by a loopback listener) with Debian's nginx in front of gunicorn.

Its own refusals under `/api/` (a request line over 4 KB, a header it cannot read,
a body over 12 MB, a flood, an app it cannot reach or that does not answer) are
the API's envelope, with the contract's first text for the status; what the app
answers (Django's envelopes and their details, gunicorn's envelope) passes
through untouched; the admin keeps nginx's own pages."""

import os
import time
from datetime import UTC, datetime

import pytest

from allmine.core.errors import error_text
from tests.api import TIMESTAMP_RE
from tests.security.servers import (
    NGINX,
    Nginx,
    SilentServer,
    deploy_nginx_config,
    free_port,
    get,
    raw_request,
)

pytestmark = pytest.mark.skipif(
    not NGINX.exists() and os.environ.get("REQUIRE_NGINX") != "1",
    reason="needs nginx: apt-get install nginx",
)


def assert_proxy_envelope(response, status: int, contains: str | None = None) -> dict:
    assert response.status == status, (response.status, response.body[:300])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"isSuccess", "statusCode", "data", "errors", "timestamp"}
    assert (body["isSuccess"], body["statusCode"], body["data"]) == (False, status, None)
    assert body["errors"][0] == error_text(status), body["errors"]
    assert TIMESTAMP_RE.match(body["timestamp"]), body["timestamp"]
    sent = datetime.strptime(body["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - sent).total_seconds()) < 60  # UTC, not local time
    if contains is not None:
        assert any(contains in entry for entry in body["errors"][1:]), body["errors"]
    return body


@pytest.fixture(scope="module")
def proxy(production_gunicorn):
    server = Nginx(production_gunicorn.port)
    yield server
    server.stop()


def test_the_documented_block_has_an_envelope_page_for_each_status():
    config = deploy_nginx_config()
    for status in (400, 413, 414, 429, 502, 503, 504):
        assert f" {status} /_api_errors/" in config or f"_api_errors/{status}" in config, status
        assert f'"statusCode":{status},' in config
        assert f'"errors":["{error_text(status)}",' in config, status


def test_the_api_is_served_through_the_proxy(proxy):
    response = get(proxy.port, "/api/v1/health")
    assert response.status == 200
    assert response.json()["data"]["database"] == "ok"


def test_the_apps_own_errors_pass_through_with_their_details(proxy):
    body = b'{"login": ""}'
    response = raw_request(
        proxy.port,
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
        % (len(body), body),
    )
    errors = assert_proxy_envelope(response, 400)["errors"]
    assert any(entry.startswith("login: ") for entry in errors), errors
    not_found = assert_proxy_envelope(get(proxy.port, "/api/v1/no-such-thing"), 404)
    assert "No API endpoint has this URL." in not_found["errors"]


def test_a_long_request_line_is_a_414_envelope(proxy):
    response = get(proxy.port, "/api/v1/live-stream?q=" + "a" * 5000)
    assert_proxy_envelope(response, 414, contains="too long")


def test_a_header_over_the_proxys_limit_is_a_400_envelope(proxy):
    response = get(proxy.port, "/api/v1/health", headers=b"X-Big: " + b"b" * 5000 + b"\r\n")
    assert_proxy_envelope(response, 400, contains="could not be read")


def test_a_malformed_header_is_a_400_envelope(proxy):
    response = get(proxy.port, "/api/v1/health", headers=b"X-Te\x01st: x\r\n")
    assert_proxy_envelope(response, 400)


def test_a_control_character_nginx_passes_on_is_refused_by_gunicorn_in_the_envelope(proxy):
    response = get(proxy.port, "/api/v1/health", headers=b"X-Test: a\x01b\r\n")
    assert_proxy_envelope(response, 400, contains="malformed")


def test_a_body_over_12_mb_is_a_413_envelope(proxy):
    response = raw_request(
        proxy.port,
        b"POST /api/v1/live-stream/create HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 13000000\r\nConnection: close\r\n\r\n",
    )
    assert_proxy_envelope(response, 413, contains="12 MB")


def test_a_host_not_allowed_is_djangos_400_envelope_through_the_proxy(proxy):
    response = get(proxy.port, "/api/v1/health", host="evil.example")
    assert_proxy_envelope(response, 400, contains="Host header")


def test_the_admin_keeps_nginxs_own_pages(proxy):
    response = raw_request(
        proxy.port,
        b"POST /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 13000000\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert response.status == 413
    assert response.headers["content-type"].startswith("text/html")


def test_a_flood_from_one_address_is_a_429_envelope(production_gunicorn):
    flooded = Nginx(
        production_gunicorn.port,
        {r"rate=50r/s": "rate=1r/s", r"burst=100": "burst=1"},
    )
    try:
        responses = [get(flooded.port, "/api/v1/health") for _ in range(6)]
    finally:
        flooded.stop()
    refused = [r for r in responses if r.status == 429]
    assert refused and responses[0].status == 200, [r.status for r in responses]
    assert_proxy_envelope(refused[0], 429)
    assert int(refused[0].headers["retry-after"]) >= 1


def test_nginxs_503_page_is_the_envelope(production_gunicorn):
    shedding = Nginx(
        production_gunicorn.port,
        {
            r"rate=50r/s": "rate=1r/s",
            r"burst=100": "burst=1",
            r"limit_req_status 429": "limit_req_status 503",
        },
    )
    try:
        responses = [get(shedding.port, "/api/v1/health") for _ in range(6)]
    finally:
        shedding.stop()
    refused = [r for r in responses if r.status == 503]
    assert refused, [r.status for r in responses]
    assert_proxy_envelope(refused[0], 503)


def test_an_app_that_cannot_be_reached_is_a_502_envelope():
    unreachable = Nginx(free_port())  # nothing listens there
    try:
        response = get(unreachable.port, "/api/v1/health")
    finally:
        unreachable.stop()
    assert_proxy_envelope(response, 502, contains="cannot be reached")
    assert int(response.headers["retry-after"]) >= 1


def test_an_app_that_does_not_answer_is_a_504_envelope():
    silent = SilentServer()
    hung = Nginx(silent.port, {r"proxy_read_timeout 35s": "proxy_read_timeout 1s"})
    try:
        started = time.monotonic()
        response = get(hung.port, "/api/v1/health")
        took = time.monotonic() - started
    finally:
        hung.stop()
        silent.stop()
    assert_proxy_envelope(response, 504, contains="too long to answer")
    assert took < 5
