"""The envelope of the contract (§1) on every kind of /api/ response."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.db import OperationalError
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from accounts.services import auth
from tests.api import TIMESTAMP_RE, assert_envelope, assert_error
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me"
LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _bearer(api_client, token: str):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api_client


# --- Success ------------------------------------------------------------------


def test_success_envelope(user, client_for):
    before = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    response = client_for(user).get(ME)
    after = timezone.now() + timedelta(seconds=1)

    data = assert_envelope(response, 200)
    body = response.json()
    assert body["isSuccess"] is True
    assert body["errors"] == []
    assert data["_id"] == user.pk
    assert body["timestamp"].endswith("Z")
    stamp = datetime.strptime(body["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before <= stamp <= after


def test_created_envelope_status_code_is_201(api_client):
    response = api_client.post(
        REGISTER,
        {
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password": DEFAULT_PASSWORD,
            "name": "New",
            "surname": "Comer",
        },
        format="json",
    )
    assert_envelope(response, 201)
    assert response.json()["statusCode"] == 201


# --- 400 ----------------------------------------------------------------------


def test_bad_json_body_is_400(api_client):
    response = api_client.post(LOGIN, data='{"login": "a", ', content_type="application/json")
    errors = assert_error(response, 400)
    assert errors[0] == "Validation failed"
    assert len(errors) >= 2
    # The parser's message is not echoed with internals.
    assert not any("Expecting" in e or "line 1 column" in e for e in errors)


def test_field_errors_are_field_colon_message(api_client):
    response = api_client.post(LOGIN, {"password": "x"}, format="json")
    errors = assert_error(response, 400)
    assert errors[1:] == ["login: This field is required."]


def test_every_missing_field_is_named(api_client):
    response = api_client.post(REGISTER, {}, format="json")
    errors = assert_error(response, 400)
    named = {e.split(":", 1)[0] for e in errors[1:]}
    assert named == {"username", "email", "password", "name", "surname"}
    assert all(": " in e for e in errors[1:])


def test_json_body_that_is_not_an_object_is_400(api_client):
    response = api_client.post(LOGIN, data="[1, 2]", content_type="application/json")
    assert_error(response, 400)


# --- 401 ----------------------------------------------------------------------


def _assert_401(response):
    errors = assert_error(response, 401)
    assert errors[0] == "Authentication required"
    assert response.has_header("WWW-Authenticate")
    assert response["WWW-Authenticate"].startswith("Bearer")
    return errors


def test_no_token_is_401(api_client):
    _assert_401(api_client.get(ME))


def test_non_bearer_scheme_is_401(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {AccessToken.for_user(user)}")
    _assert_401(api_client.get(ME))


def test_garbage_token_is_401(api_client):
    _assert_401(_bearer(api_client, "not-a-jwt").get(ME))


def test_bearer_without_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer")
    _assert_401(api_client.get(ME))


def test_expired_token_is_401(api_client, user):
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=2))
    _assert_401(_bearer(api_client, str(token)).get(ME))


def test_token_signed_with_another_key_is_401(api_client, user):
    payload = dict(AccessToken.for_user(user).payload)
    forged = jwt.encode(payload, "another-signing-key-entirely-32b!", algorithm="HS256")
    _assert_401(_bearer(api_client, forged).get(ME))


def test_tampered_payload_is_401(api_client, user, django_user_model):
    other = django_user_model.objects.create_user("someoneelse", "else@example.com", "x")
    header, _payload, signature = str(AccessToken.for_user(user)).split(".")
    payload = dict(AccessToken.for_user(user).payload, sub=other.pk)
    _assert_401(_bearer(api_client, f"{header}.{_b64(payload)}.{signature}").get(ME))


def test_alg_none_token_is_401(api_client, user):
    payload = dict(AccessToken.for_user(user).payload)
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."
    _assert_401(_bearer(api_client, unsigned).get(ME))


def test_refresh_token_used_as_access_is_401(api_client, user):
    _assert_401(_bearer(api_client, str(RefreshToken.for_user(user))).get(ME))


def test_deactivated_users_token_is_401(api_client, user):
    token = str(AccessToken.for_user(user))
    User.objects.filter(pk=user.pk).update(is_active=False)
    _assert_401(_bearer(api_client, token).get(ME))


def test_deleted_users_token_is_401(api_client, user):
    token = str(AccessToken.for_user(user))
    User.objects.filter(pk=user.pk).delete()
    _assert_401(_bearer(api_client, token).get(ME))


def test_401_leaks_no_token_internals(api_client, user):
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=2))
    errors = _assert_401(_bearer(api_client, str(token)).get(ME))
    text = " ".join(errors)
    assert "AccessToken" not in text
    assert "token_class" not in text
    assert str(token) not in text


# --- 404 and 405 --------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/auth/me", "/api/", "/api/v1/auth/me/x"])
def test_unknown_api_url_is_404_for_every_method(api_client, method, path):
    response = getattr(api_client, method)(path)
    assert_error(response, 404)


def test_unknown_api_url_is_404_even_with_a_bad_token(api_client):
    response = _bearer(api_client, "garbage").get("/api/v1/nope")
    assert_error(response, 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", LOGIN), ("put", REGISTER), ("delete", "/api/v1/auth/logout")],
)
def test_wrong_method_on_known_url_is_405(api_client, method, path):
    response = getattr(api_client, method)(path)
    assert_error(response, 405)


def test_wrong_method_when_authenticated_is_405(user, client_for):
    response = client_for(user).post(ME, {}, format="json")
    assert_error(response, 405)


# --- 415 and 413 --------------------------------------------------------------


def test_text_plain_body_is_415(api_client):
    response = api_client.post(LOGIN, data="login=a&password=b", content_type="text/plain")
    assert_error(response, 415)


def test_body_above_max_request_bytes_is_413(api_client, settings):
    settings.MAX_REQUEST_BYTES = 1024
    body = json.dumps({"login": "x" * 2000, "password": "y"})
    response = api_client.post(LOGIN, data=body, content_type="application/json")
    assert_error(response, 413)


def test_body_at_max_request_bytes_is_not_413(api_client, settings):
    body = json.dumps({"login": "nobody", "password": "y"})
    settings.MAX_REQUEST_BYTES = len(body)
    response = api_client.post(LOGIN, data=body, content_type="application/json")
    assert_error(response, 401)


# --- 500 and 503 --------------------------------------------------------------


def _boom(**kwargs):
    raise RuntimeError("secret internals /srv/app/accounts/services.py password=hunter2")


def test_unexpected_exception_is_500_without_internals(api_client, user, monkeypatch):
    monkeypatch.setattr(auth, "user_login", _boom)
    response = api_client.post(
        LOGIN, {"login": user.username, "password": DEFAULT_PASSWORD}, format="json"
    )
    errors = assert_error(response, 500)
    assert errors == ["Internal server error"]
    text = response.content.decode()
    for leak in ("Traceback", "RuntimeError", "secret internals", "services.py", "hunter2"):
        assert leak not in text


def test_500_rolls_back_what_the_request_wrote(api_client, monkeypatch):
    """A request that fails changes nothing (§1): a failure after the user row was
    written leaves no user behind."""

    def issue_fails(**kwargs):
        raise RuntimeError("token store down")

    monkeypatch.setattr(auth, "token_pair_issue", issue_fails)
    response = api_client.post(
        REGISTER,
        {
            "username": "halfdone",
            "email": "halfdone@example.com",
            "password": DEFAULT_PASSWORD,
            "name": "Half",
            "surname": "Done",
        },
        format="json",
    )
    assert_error(response, 500)
    assert not User.objects.filter(username="halfdone").exists()


def test_database_unavailable_is_503(user, client_for, monkeypatch):
    def db_down(**kwargs):
        raise OperationalError("could not connect to server at 10.0.0.5:5432")

    monkeypatch.setattr(auth, "token_revoke", db_down)
    response = client_for(user).post(
        "/api/v1/auth/logout", {"refreshToken": "whatever"}, format="json"
    )
    errors = assert_error(response, 503)
    assert errors[0] == "Service unavailable"
    assert "10.0.0.5" not in response.content.decode()


def test_error_timestamp_format(api_client):
    response = api_client.get("/api/v1/nope")
    assert TIMESTAMP_RE.match(response.json()["timestamp"])


@pytest.mark.django_db
def test_the_api_speaks_english_whatever_the_accept_language(api_client):
    response = api_client.post(
        "/api/v1/auth/register", {}, format="json", HTTP_ACCEPT_LANGUAGE="tr"
    )
    errors = assert_envelope(response, 400)
    assert "username: This field is required." in errors
    assert "Content-Language" not in response


# --- Stable error codes -----------------------------------------------------------


def test_every_status_with_a_fixed_text_has_a_stable_code():
    from allmine.core.errors import ERROR_CODES, ERROR_TEXTS

    assert set(ERROR_CODES) == set(ERROR_TEXTS)
    assert len(set(ERROR_CODES.values())) == len(ERROR_CODES)
    assert all(code.isidentifier() and code.islower() for code in ERROR_CODES.values())


@pytest.mark.parametrize(
    ("error_class", "status", "code"),
    [
        ("ValidationFailed", 400, "validation_failed"),
        ("AuthenticationRequired", 401, "authentication_required"),
        ("InsufficientPermissions", 403, "insufficient_permissions"),
        ("NotFound", 404, "not_found"),
        ("Conflict", 409, "conflict"),
        ("PayloadTooLarge", 413, "payload_too_large"),
        ("ServiceUnavailable", 503, "service_unavailable"),
    ],
)
def test_a_domain_error_carries_its_status_code_and_a_more_precise_code_when_given(
    error_class, status, code
):
    from allmine.core import errors

    plain = getattr(errors, error_class)("what went wrong")
    assert (plain.status_code, plain.code, plain.details) == (status, code, ["what went wrong"])
    precise = getattr(errors, error_class)("what went wrong", code="stream_not_live")
    assert (precise.status_code, precise.code) == (status, "stream_not_live")
